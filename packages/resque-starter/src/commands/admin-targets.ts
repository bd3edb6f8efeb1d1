import { closest } from '@baton/process-kit';
import { describeRedis, type ResolvedConfig } from '../config.js';
import { configForGroup } from '../config-groups.js';
import { UsageError } from '../errors.js';

/** One Redis and namespace that `failed`/`queues` read, and the groups that use it. */
export interface AdminTarget {
  /** `<redis>/<namespace>`, for headers and errors. */
  where: string;
  /** The config as the first of these groups sees it (its `redis`, `namespace`). */
  config: ResolvedConfig;
  groups: string[];
}

/**
 * Why: groups may use other Redis servers or namespaces; `--group G` picks G's, and without it
 * each distinct one is a target (most configs have one). An unknown group is a usage error with
 * a did-you-mean.
 */
export function adminTargets(config: ResolvedConfig, group: string | undefined): AdminTarget[] {
  if (group !== undefined) {
    const c = configForGroup(config, group);
    if (!c) {
      const names = config.groups.map((g) => g.name);
      const near = closest(group, names);
      throw new UsageError(`Unknown group \`${group}\` in ${config.path}${near ? `; did you mean \`${near}\`?` : `; its groups: ${names.join(', ')}`}`);
    }
    return [{ where: whereOf(c), config: c, groups: [group] }];
  }
  const byWhere = new Map<string, AdminTarget>();
  for (const g of config.groups) {
    const c = configForGroup(config, g.name)!;
    const where = whereOf(c);
    const t = byWhere.get(where);
    if (t) t.groups.push(g.name);
    else byWhere.set(where, { where, config: c, groups: [g.name] });
  }
  return [...byWhere.values()];
}

function whereOf(c: ResolvedConfig): string {
  return `${describeRedis(c.redis)}/${c.namespace}`;
}
