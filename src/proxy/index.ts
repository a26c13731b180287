/** The proxy a service's `rollout:` names, driven through the env driver's exec. */
import { RemoteExec } from '../apply/types';
import { ProxySettings } from '../render/rollout-config';
import { HaproxyProxy } from './haproxy';
import { TrafficProxy } from './types';

export function createProxy(settings: ProxySettings, exec: RemoteExec): TrafficProxy {
  switch (settings.kind) {
    case 'haproxy':
      return new HaproxyProxy(settings, exec);
  }
}
