"""The three patch types (JSON, merge, strategic merge) and server-side apply's field removal.

Strategic merge knows the merge keys charts and kubectl use (Kubernetes' patchMergeKey struct tags); other lists
are replaced whole, as for a type without a merge strategy.
"""
import copy

import jsonpatch

from lab.kube.api.errors import ApiError

# list field -> merge key ("" = a list of scalars merged as a set)
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "imagePullSecrets": "name",
    "hostAliases": "ip", "ownerReferences": "uid", "conditions": "type", "topologySpreadConstraints": "topologyKey",
    "finalizers": "", "resourceClaims": "name",
}
DIRECTIVE_PREFIXES = ("$setElementOrder/", "$retainKeys", "$deleteFromPrimitiveList/")


def json_patch(obj, operations):
    try:
        return jsonpatch.apply_patch(obj, operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as err:
        raise ApiError(422, f"the server rejected our request due to an error in our request: {err}") from err


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(field, kind):
    if field == "ports":
        return "port" if kind == "Service" else "containerPort"
    return MERGE_KEYS.get(field)


def strategic_merge(target, patch, kind=""):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if key.startswith(DIRECTIVE_PREFIXES) or key == "$patch":
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and _merge_key(key, kind) is not None:
            result[key] = _merge_list(result.get(key) or [], value, _merge_key(key, kind), kind)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, kind)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(current, patch, key, kind):
    if not key:   # a set of scalars
        merged = list(current)
        merged.extend(v for v in patch if v not in merged)
        return merged
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    merged = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            merged.append(copy.deepcopy(item))
            continue
        index = next((n for n, have in enumerate(merged) if isinstance(have, dict) and have.get(key) == item[key]),
                     None)
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            merged[index] = strategic_merge(merged[index], item, kind)
    return merged


def remove_unapplied(live, previous, applied, kind=""):
    """Server-side apply: drop from `live` what the manager applied before (`previous`) and no longer applies."""
    if not isinstance(previous, dict) or not isinstance(live, dict):
        return live
    for key, old in previous.items():
        if key not in live:
            continue
        new = applied.get(key) if isinstance(applied, dict) else None
        if new is None:
            live.pop(key)
        elif isinstance(old, dict) and isinstance(new, dict):
            remove_unapplied(live[key], old, new, kind)
        elif isinstance(old, list) and isinstance(new, list) and _merge_key(key, kind):
            mkey = _merge_key(key, kind)
            kept = {i.get(mkey) for i in new if isinstance(i, dict)}
            gone = {i.get(mkey) for i in old if isinstance(i, dict)} - kept
            live[key] = [i for i in live[key] if not (isinstance(i, dict) and i.get(mkey) in gone)]
            for item in live[key]:
                match_old = next((o for o in old if isinstance(o, dict) and o.get(mkey) == item.get(mkey)), None)
                match_new = next((o for o in new if isinstance(o, dict) and o.get(mkey) == item.get(mkey)), None)
                if match_old and match_new:
                    remove_unapplied(item, match_old, match_new, kind)
    return live
