import { readDriverConfig } from '../src/drivers/config';
import { table } from '../src/report/table';
import { GgnCommand } from './base';
import { jsonFlag, withDriver } from './live';

export default class ListMachines extends GgnCommand {
  static override examples = ['ggn prod list-machines', 'ggn prod list-machines --json'];
  static override flags = { json: jsonFlag };

  async run(): Promise<number> {
    const flags = await this.flags(ListMachines.flags);
    const cfg = readDriverConfig(this.ctx.ws.env(this.ctx.target.env));
    // A driver with its own inventory (fleet's machines) is asked; the SSH driver's is the config.
    const machines = cfg.driver === 'ssh' ? cfg.machines : await withDriver(this.ctx, 20, async (d) => (d.inventory ? d.inventory() : cfg.machines));
    const rows = machines.map((m) => ({
      name: m.name,
      ...('id' in m && m.id ? { id: m.id } : {}),
      address: m.address,
      port: ('port' in m ? m.port : undefined) ?? cfg.ssh.port ?? 22,
      user: ('user' in m ? m.user : undefined) ?? cfg.ssh.user ?? '',
      metadata: m.metadata,
    }));
    if (flags.json) this.print(JSON.stringify({ machines: rows }, null, 2));
    else
      this.ctx.out.write(
        table(
          ['NAME', 'ADDRESS', 'PORT', 'USER', 'METADATA'],
          rows.map((r) => [
            r.name,
            r.address,
            String(r.port),
            r.user || '(default)',
            Object.entries(r.metadata)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          ]),
        ),
      );
    return 0;
  }
}
