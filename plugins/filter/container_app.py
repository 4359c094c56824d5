# -*- coding: utf-8 -*-
# Copyright: contributors to medimaging.orthanc
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_app_containers: a container app template's containers (as ARM returns them) in the option form of
medimaging.orthanc.azure_container_app, so an operation can re-apply them (a new image, or a rollback)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

_PROBE_NUMBERS = (('initialDelaySeconds', 'initial_delay_seconds'), ('periodSeconds', 'period_seconds'),
                  ('failureThreshold', 'failure_threshold'), ('timeoutSeconds', 'timeout_seconds'),
                  ('successThreshold', 'success_threshold'))


def _probe(probe):
    out = dict((snake, probe[camel]) for camel, snake in _PROBE_NUMBERS if probe.get(camel) is not None)
    out['type'] = probe['type']
    if probe.get('httpGet'):
        out['http_get'] = dict((key, value) for key, value in probe['httpGet'].items()
                               if key in ('path', 'port', 'scheme') and value is not None)
    if probe.get('tcpSocket'):
        out['tcp_socket'] = {'port': probe['tcpSocket']['port']}
    return out


def _env(variable):
    if variable.get('secretRef'):
        return {'name': variable['name'], 'secret_ref': variable['secretRef']}
    return {'name': variable['name'], 'value': variable.get('value', '')}


def _container(container, image):
    resources = container.get('resources') or {}
    out = {'name': container['name'], 'image': image or container['image'], 'cpu': float(resources['cpu']),
           'memory': resources['memory']}
    for key in ('command', 'args'):
        if container.get(key):
            out[key] = list(container[key])
    if container.get('env') is not None:
        out['env'] = [_env(variable) for variable in container['env']]
    if container.get('probes') is not None:
        out['probes'] = [_probe(probe) for probe in container['probes']]
    return out


def container_app_containers(containers, image=None, name=None):
    """The containers in azure_container_app's option form; image replaces the image of the container called name
    (of the only container when name is not given)."""
    if not isinstance(containers, list) or not containers:
        raise AnsibleFilterError('container_app_containers: expected the non-empty list of a template\'s containers')
    if image and name is None and len(containers) > 1:
        raise AnsibleFilterError('container_app_containers: the template has %d containers: name the one whose image '
                                 'changes' % len(containers))
    try:
        return [_container(c, image if image and (name is None or c.get('name') == name) else None)
                for c in containers]
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError('container_app_containers: a container lacks %s (name, image, resources.cpu and '
                                 'resources.memory are required)' % exc)


class FilterModule(object):
    def filters(self):
        return {'container_app_containers': container_app_containers}
