import { readDriverConfig } from '../src/drivers/config';
import { table } from '../src/report/table';
import { GgnCommand } from './base';
import { jsonFlag } from './live';

export default class ListMachines extends GgnCommand {
  static override examples = ['ggn prod list-machines', 'ggn prod list-machines --json'];
  static override flags = { json: jsonFlag };

  async run(): Promise<number> {
    const flags = await this.flags(ListMachines.flags);
    const cfg = readDriverConfig(this.ctx.ws.env(this.ctx.target.env));
    const rows = cfg.machines.map((m) => ({
      name: m.name,
      address: m.address,
      port: m.port ?? cfg.ssh.port ?? 22,
      user: m.user ?? cfg.ssh.user ?? '',
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
