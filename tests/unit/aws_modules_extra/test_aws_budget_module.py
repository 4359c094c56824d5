"""aws_budget against moto (with the lab's UpdateBudget and DescribeSubscribersForNotification): create, no change on
re-run, check mode writes nothing, diff, a new limit and new alerts, absent, bad input refused before any call."""
import pytest

from aws_module_runner import run_module, writes

ACCOUNT = "123456789012"  # moto's


def _args(name, **extra):
    return dict(dict(name=name, limit_amount=300, emails=["pacs@example.org"],
                     thresholds=[{"threshold": 80}, {"threshold": 100, "notification_type": "FORECASTED"}]), **extra)


def _alerts(aws, name):
    budgets = aws("budgets")
    found = {}
    for notification in budgets.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=name)["Notifications"]:
        subscribers = budgets.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName=name,
                                                                    Notification=notification)["Subscribers"]
        found[(notification["NotificationType"], notification["Threshold"])] = sorted(s["Address"] for s in subscribers)
    return found


def _budget_names(aws):
    return [b["BudgetName"] for b in aws("budgets").describe_budgets(AccountId=ACCOUNT)["Budgets"]]


def test_creates_once_and_a_rerun_changes_nothing(aws, moto_endpoint):
    dry = run_module("aws_budget", _args("site-create"), moto_endpoint, check_mode=True)
    assert dry["changed"] and dry["diff"]["before"] == {} and writes(dry["_calls"]) == []
    assert "site-create" not in _budget_names(aws)

    done = run_module("aws_budget", _args("site-create"), moto_endpoint)
    assert done["changed"], done
    budget = aws("budgets").describe_budget(AccountId=ACCOUNT, BudgetName="site-create")["Budget"]
    assert (budget["BudgetType"], budget["TimeUnit"], float(budget["BudgetLimit"]["Amount"]),
            budget["BudgetLimit"]["Unit"]) == ("COST", "MONTHLY", 300.0, "USD")
    assert _alerts(aws, "site-create") == {("ACTUAL", 80.0): ["pacs@example.org"],
                                           ("FORECASTED", 100.0): ["pacs@example.org"]}

    again = run_module("aws_budget", _args("site-create"), moto_endpoint)
    assert not again["changed"] and writes(again["_calls"]) == [], again
    assert again["diff"]["before"] == again["diff"]["after"]


def test_new_limit_addresses_and_thresholds_update_in_place(aws, moto_endpoint):
    run_module("aws_budget", _args("site-update"), moto_endpoint)
    changed = _args("site-update", limit_amount=500, emails=["pacs@example.org", "finance@example.org"],
                    thresholds=[{"threshold": 90}])
    dry = run_module("aws_budget", changed, moto_endpoint, check_mode=True)
    assert dry["changed"] and writes(dry["_calls"]) == []
    assert (dry["diff"]["before"]["BudgetLimit"]["Amount"], dry["diff"]["after"]["BudgetLimit"]["Amount"]) == (
        "300.0", "500.0")
    assert len(_alerts(aws, "site-update")) == 2

    done = run_module("aws_budget", changed, moto_endpoint)
    assert done["changed"]
    assert aws("budgets").describe_budget(AccountId=ACCOUNT, BudgetName="site-update")["Budget"]["BudgetLimit"][
        "Amount"] == "500.0"
    assert _alerts(aws, "site-update") == {("ACTUAL", 90.0): ["finance@example.org", "pacs@example.org"]}
    assert not run_module("aws_budget", changed, moto_endpoint)["changed"]


def test_absent_deletes_and_then_has_nothing_to_do(aws, moto_endpoint):
    run_module("aws_budget", _args("site-absent"), moto_endpoint)
    gone = {"name": "site-absent", "state": "absent"}
    dry = run_module("aws_budget", gone, moto_endpoint, check_mode=True)
    assert dry["changed"] and dry["diff"]["after"] == {} and "site-absent" in _budget_names(aws)
    assert run_module("aws_budget", gone, moto_endpoint)["changed"]
    assert "site-absent" not in _budget_names(aws)
    assert not run_module("aws_budget", gone, moto_endpoint)["changed"]


@pytest.mark.parametrize("bad, named", [
    ({"limit_amount": 0}, "limit_amount"),
    ({"limit_amount": None}, "limit_amount"),
    ({"limit_unit": "dollars"}, "limit_unit"),
    ({"account_id": "12345"}, "account_id"),
    ({"emails": []}, "emails"),
    ({"emails": ["not-an-address"]}, "emails"),
    ({"thresholds": [{"threshold": -5}]}, "thresholds"),
    ({"thresholds": [{"threshold": 80}, {"threshold": 80}]}, "thresholds"),
    ({"thresholds": [{"threshold": t} for t in range(10, 70, 10)]}, "thresholds"),
])
def test_bad_input_is_refused_before_any_call(moto_endpoint, bad, named):
    args = _args("site-bad")
    args.update(bad)
    result = run_module("aws_budget", {k: v for k, v in args.items() if v is not None}, moto_endpoint)
    assert result["failed"] and named in result["msg"] and result["_calls"] == []
