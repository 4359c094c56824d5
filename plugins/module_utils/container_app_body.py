# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Container Apps (Microsoft.App/containerApps): input checks, the REST body, and secret handling.

Pure functions, no SDK: the module builds its ArmResource over them and the unit tests call them directly.

Secrets: Azure never returns a secret's value on GET. The body the engine compares and shows therefore holds
VALUE_MASK in place of each value; the real values go in only when a body is written (restore_values), taken from
the task for the secrets it gives and from listSecrets for the ones it keeps, as `az containerapp update` does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.medimaging.orthanc.plugins.module_utils.azure_names import full_match

VALUE_MASK = '(value set; not shown)'
VALUE_CHANGED = '(a different value; not shown)'

NAME_RULES = {
    'container_app': (r'[a-z][a-z0-9-]{0,30}[a-z0-9]', '2-32 characters: lower-case letters, digits and hyphens, '
                      'starting with a letter and ending with a letter or digit'),
    'managed_environment': (r'[A-Za-z0-9][A-Za-z0-9-]{0,58}[A-Za-z0-9]', '2-60 characters: letters, digits and '
                            'hyphens, starting and ending with a letter or digit'),
    'log_analytics_workspace': (r'[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]', '4-63 characters: letters, digits '
                                'and hyphens, starting and ending with a letter or digit'),
    'secret': (r'[a-z0-9][a-z0-9-.]{0,251}[a-z0-9]|[a-z0-9]', 'lower-case letters, digits, hyphens and periods, '
               'starting and ending with a letter or digit'),
}

# Fields Container Apps sets itself (never compared, dropped from the current resource before a PUT).
APP_READ_ONLY = (
    'properties.latestRevisionName', 'properties.latestReadyRevisionName', 'properties.latestRevisionFqdn',
    'properties.outboundIpAddresses', 'properties.customDomainVerificationId', 'properties.eventStreamEndpoint',
    'properties.runningStatus', 'properties.configuration.ingress.fqdn', 'properties.deploymentErrors',
    'identity.principalId', 'identity.tenantId')

# Consumption plan (and no workload profile): cpu/memory of the whole app, 1 vCPU : 2 GiB in 0.25 steps.
CONSUMPTION_MAX_CPU = 2.0
# The 'Consumption' workload profile of a workload-profiles environment also allows 2.25 to 4.0 vCPU.
CONSUMPTION_PROFILE_MAX_CPU = 4.0


class ContainerAppInputError(ValueError):
    """A task input Azure would refuse; the message names it and says what to do."""


def name_problem(kind, value):
    pattern, words = NAME_RULES[kind]
    return None if full_match(pattern, value) else words


def parse_memory(text):
    """'1Gi', '1.5Gi', '0.5Gi' -> GiB as float; None when it is not Container Apps' notation."""
    found = re.match(r'\s*(\d+(?:\.\d+)?)\s*Gi\s*\Z', str(text or ''))
    return float(found.group(1)) if found else None


def format_memory(gib):
    """As Azure answers it: 0.5Gi, 1Gi, 1.5Gi."""
    return '%gGi' % gib


def allowed_pairs(max_cpu):
    steps = int(round(max_cpu / 0.25))
    return [(0.25 * i, 0.5 * i) for i in range(1, steps + 1)]


def check_resources(containers, workload_profile_name=None):
    """Refuse the app's total cpu/memory when it is not a pair Azure allows (before any call).

    Consumption (no workload profile) and the 'Consumption' profile take fixed pairs; a dedicated profile (D4, E8...)
    is sized by its own machine, which Azure checks at deployment: only the notation is checked here.
    """
    total_cpu, total_mem = 0.0, 0.0
    for container in containers:
        cpu, memory = container.get('cpu'), container.get('memory')
        gib = parse_memory(memory)
        if cpu is None or gib is None:
            raise ContainerAppInputError(
                "container '%s': cpu and memory are both required, memory in Gi such as '1Gi' or '0.5Gi' (got "
                "cpu=%r, memory=%r)" % (container.get('name'), cpu, memory))
        total_cpu += float(cpu)
        total_mem += gib
    dedicated = workload_profile_name not in (None, '', 'Consumption')
    if dedicated:
        return
    max_cpu = CONSUMPTION_PROFILE_MAX_CPU if workload_profile_name == 'Consumption' else CONSUMPTION_MAX_CPU
    pairs = allowed_pairs(max_cpu)
    if not any(abs(total_cpu - c) < 1e-9 and abs(total_mem - m) < 1e-9 for c, m in pairs):
        raise ContainerAppInputError(
            'the containers ask %g vCPU and %s in total, which Azure refuses on the %s plan: the total must be one '
            'of %s. Change cpu/memory of the containers so their sums make one of these pairs' % (
                total_cpu, format_memory(total_mem),
                'Consumption workload profile' if workload_profile_name else 'Consumption',
                ', '.join('%g/%s' % (c, format_memory(m)) for c, m in pairs)))


def _check_secrets(secrets):
    names = set()
    for secret in secrets:
        name = secret['name']
        problem = name_problem('secret', name)
        if problem:
            raise ContainerAppInputError("secret name %r: %s" % (name, problem))
        if name in names:
            raise ContainerAppInputError("secret '%s' is given twice" % name)
        names.add(name)
        has_value, has_ref = secret.get('value') is not None, bool(secret.get('key_vault_url'))
        if has_value == has_ref:
            raise ContainerAppInputError(
                "secret '%s': give exactly one of value or key_vault_url (a Key Vault reference)" % name)
        if has_ref:
            if not re.match(r'https://[^/]+/secrets/[A-Za-z0-9-]+(/[0-9a-fA-F]*)?/?\Z', secret['key_vault_url']):
                raise ContainerAppInputError(
                    "secret '%s': key_vault_url must be https://<vault host>/secrets/<name>[/<version>] (got %r)"
                    % (name, secret['key_vault_url']))
            if not secret.get('identity'):
                raise ContainerAppInputError(
                    "secret '%s': a Key Vault reference needs identity (a user-assigned identity id of the app, or "
                    "'system')" % name)
    return names


def _check_env(containers, secret_names, secrets_given):
    for container in containers:
        for var in container.get('env') or []:
            has_value, ref = var.get('value') is not None, var.get('secret_ref')
            if has_value == bool(ref):
                raise ContainerAppInputError("container '%s' env %s: give exactly one of value or secret_ref" % (
                    container['name'], var['name']))
            if ref and secrets_given and ref not in secret_names:
                raise ContainerAppInputError(
                    "container '%s' env %s: secret_ref '%s' names no secret of the app (secrets: %s)" % (
                        container['name'], var['name'], ref, ', '.join(sorted(secret_names)) or 'none'))


def _check_ingress(ingress):
    if not ingress:
        return
    rules = ingress.get('ip_security_restrictions') or []
    if len(set(rule['action'] for rule in rules)) > 1:
        raise ContainerAppInputError(
            'ingress.ip_security_restrictions: Azure takes rules of one action only (all Allow or all Deny)')
    if ingress.get('transport') == 'tcp' and not ingress.get('exposed_port'):
        raise ContainerAppInputError('ingress.transport tcp needs ingress.exposed_port')
    mappings = ingress.get('additional_port_mappings') or []
    if len(mappings) > 5:
        raise ContainerAppInputError('ingress.additional_port_mappings: Azure allows at most 5 (got %d)' % len(mappings))


# Probe fields and the ranges Azure accepts (ContainerApps.json ContainerAppProbe).
PROBE_RANGES = (('initial_delay_seconds', 0, 60), ('period_seconds', 1, 240), ('failure_threshold', 1, 10),
                ('timeout_seconds', 1, 240), ('success_threshold', 1, 10))


def _check_probes(containers):
    for container in containers:
        for probe in container.get('probes') or []:
            if bool(probe.get('http_get')) == bool(probe.get('tcp_socket')):
                raise ContainerAppInputError("container '%s' %s probe: give exactly one of http_get or tcp_socket" % (
                    container['name'], probe['type']))
            check = probe.get('http_get') or probe.get('tcp_socket')
            if not isinstance(check.get('port'), int) or not 1 <= check['port'] <= 65535:
                raise ContainerAppInputError("container '%s' %s probe: port must be a TCP port (got %r)" % (
                    container['name'], probe['type'], check.get('port')))
            for key, low, high in PROBE_RANGES:
                value = probe.get(key)
                if value is not None and not low <= value <= high:
                    raise ContainerAppInputError("container '%s' %s probe: %s must be %d-%d (got %d)" % (
                        container['name'], probe['type'], key, low, high, value))


def check_inputs(params):
    """Everything Azure would refuse that the task alone shows. Raises ContainerAppInputError."""
    containers = params.get('containers') or []
    secrets = params.get('secrets')
    names = _check_secrets(secrets or [])
    if containers:
        check_resources(containers, params.get('workload_profile_name'))
        _check_env(containers, names, secrets is not None)
        _check_probes(containers)
    _check_ingress(params.get('ingress'))
    low, high = params.get('min_replicas'), params.get('max_replicas')
    if low is not None and high is not None and low > high:
        raise ContainerAppInputError('min_replicas (%d) is above max_replicas (%d)' % (low, high))


# ---------------------------------------------------------------- the REST body


def _probe(probe):
    body = {'type': probe['type'], 'initialDelaySeconds': probe.get('initial_delay_seconds'),
            'periodSeconds': probe.get('period_seconds'), 'failureThreshold': probe.get('failure_threshold'),
            'timeoutSeconds': probe.get('timeout_seconds'), 'successThreshold': probe.get('success_threshold')}
    if probe.get('http_get'):
        http = probe['http_get']
        body['httpGet'] = {'path': http.get('path'), 'port': http['port'], 'scheme': http.get('scheme')}
    if probe.get('tcp_socket'):
        body['tcpSocket'] = {'port': probe['tcp_socket']['port']}
    return body


def _container(container):
    env = None
    if container.get('env') is not None:
        env = [{'name': v['name'], 'value': v.get('value'), 'secretRef': v.get('secret_ref')} for v in container['env']]
    return {
        'name': container['name'], 'image': container['image'],
        'command': container.get('command'), 'args': container.get('args'),
        'env': env,
        'resources': {'cpu': float(container['cpu']), 'memory': format_memory(parse_memory(container['memory']))},
        'probes': [_probe(p) for p in container['probes']] if container.get('probes') is not None else None,
    }


def _ingress(ingress):
    if ingress is None:
        return None
    body = {'external': ingress.get('external'), 'targetPort': ingress.get('target_port'),
            'exposedPort': ingress.get('exposed_port'), 'transport': ingress.get('transport'),
            'allowInsecure': ingress.get('allow_insecure')}
    if ingress.get('ip_security_restrictions') is not None:
        body['ipSecurityRestrictions'] = [
            {'name': r['name'], 'ipAddressRange': r['ip_address_range'], 'action': r['action'],
             'description': r.get('description')} for r in ingress['ip_security_restrictions']]
    if ingress.get('additional_port_mappings') is not None:
        body['additionalPortMappings'] = [
            {'external': m['external'], 'targetPort': m['target_port'], 'exposedPort': m.get('exposed_port')}
            for m in ingress['additional_port_mappings']]
    return body


def _secret(secret):
    if secret.get('key_vault_url'):
        return {'name': secret['name'], 'keyVaultUrl': secret['key_vault_url'], 'identity': secret['identity']}
    return {'name': secret['name'], 'value': VALUE_MASK}


def identity_body(system_assigned, user_assigned):
    if system_assigned is None and user_assigned is None:
        return None
    kinds = []
    if system_assigned:
        kinds.append('SystemAssigned')
    if user_assigned:
        kinds.append('UserAssigned')
    body = {'type': ','.join(kinds) or 'None'}
    if user_assigned:
        body['userAssignedIdentities'] = dict((ident, {}) for ident in user_assigned)
    return body


def app_body(params, environment_id):
    """The containerApps REST body the task describes, secret values masked (None = not set by the task)."""
    containers = params.get('containers')
    scale = None
    if params.get('min_replicas') is not None or params.get('max_replicas') is not None:
        scale = {'minReplicas': params.get('min_replicas'), 'maxReplicas': params.get('max_replicas')}
    template = {
        'revisionSuffix': params.get('revision_suffix'),
        'containers': [_container(c) for c in containers] if containers else None,
        'scale': scale,
    }
    secrets = params.get('secrets')
    return {
        'location': params.get('location'),
        'tags': params.get('tags'),
        'identity': identity_body(params.get('system_assigned_identity'), params.get('user_assigned_identities')),
        'properties': {
            'environmentId': environment_id,
            'workloadProfileName': params.get('workload_profile_name'),
            'configuration': {
                'activeRevisionsMode': params.get('revisions_mode'),
                'secrets': [_secret(s) for s in secrets] if secrets is not None else None,
                'ingress': _ingress(params.get('ingress')),
            },
            'template': template,
        },
    }


# ---------------------------------------------------------------- secret values


def plain_secret_values(params):
    """{name: value} of the secrets the task gives in plain text (never shown, only written)."""
    return dict((s['name'], s['value']) for s in params.get('secrets') or [] if s.get('value') is not None)


def current_secrets(resource):
    return ((resource or {}).get('properties') or {}).get('configuration', {}).get('secrets') or []


def mark_value_changes(current, given, listed):
    """Show on the current resource whether each plain secret the task gives holds the same value in Azure.

    current: the GET answer (secrets without values); given: {name: value} from the task; listed: {name: value}
    from listSecrets. A secret whose value matches gets VALUE_MASK (so the masked desired body compares equal),
    one that differs gets VALUE_CHANGED (so the engine reports it and writes). Values themselves never go in.
    """
    for secret in current_secrets(current):
        name = secret.get('name')
        if name in given and not secret.get('keyVaultUrl'):
            secret['value'] = VALUE_MASK if listed.get(name) == given[name] else VALUE_CHANGED
    return current


def needs_listed_values(body, given):
    """True when a body about to be written holds a plain secret whose value the task does not give."""
    return any(not s.get('keyVaultUrl') and s.get('name') not in given for s in current_secrets(body))


def restore_values(body, given, listed):
    """A copy of body ready to send: each plain secret gets its value from the task, else from listSecrets.

    Raises ContainerAppInputError when neither has it (Azure would otherwise drop the secret's value).
    """
    import copy
    body = copy.deepcopy(body)
    for secret in ((body.get('properties') or {}).get('configuration') or {}).get('secrets') or []:
        if secret.get('keyVaultUrl'):
            secret.pop('value', None)
            continue
        name = secret.get('name')
        if name in given:
            secret['value'] = given[name]
        elif name in listed and listed[name] is not None:
            secret['value'] = listed[name]
        else:
            raise ContainerAppInputError(
                "secret '%s' has no value: Azure did not return it through listSecrets and the task does not give "
                "it. Give its value (or key_vault_url) in secrets" % name)
    return body


def listed_values(answer):
    """{name: value} of a listSecrets answer ({value: [{name, value, keyVaultUrl, identity}]})."""
    return dict((item.get('name'), item.get('value')) for item in (answer or {}).get('value') or []
                if not item.get('keyVaultUrl'))


def without_values(resource):
    """The resource with every secret value removed (for results: values are never returned)."""
    for secret in current_secrets(resource):
        secret.pop('value', None)
    return resource
