import { ChatcastError } from '../core/errors.js';
import { resolve } from 'node:path';
import { initWorkspace, resolveWorkspaceDir } from '../io/workspace.js';
import { parseZone } from '../core/dates.js';
import { parseSource } from '../core/sources.js';
import { defineCommand, STEP_ARGS } from './command.js';

// The remote URL schemes DVC knows (each needs its dvc-* plugin; requirements.txt installs dvc-s3).
const DVC_SCHEMES = ['s3', 'gs', 'azure', 'ssh', 'hdfs', 'webhdfs', 'http', 'https', 'webdav', 'webdavs', 'oss', 'gdrive'];

// `chatcast init`
export default defineCommand<{ workspace?: string; remote?: string; timezone?: string; source?: string; title?: string }>({
  name: 'init',
  describe: 'Make a folder a chatcast workspace: git + DVC project, dvc.yaml, params.yaml, a DVC remote',
  args: {
    workspace: STEP_ARGS.workspace,
    remote: { type: 'string', describe: 'DVC remote: a folder or URL (default: a folder beside the workspace, NAME-dvc-remote)' },
    timezone: { type: 'string', describe: "The chat's IANA time zone (default Europe/Berlin)" },
    source: { type: 'string', describe: 'Default message source: simulate or tsv:FILE (default simulate)' },
    title: { type: 'string', describe: 'Chat title shown on charts and in the report' },
  },
  async run(args, ctx) {
    if (args.timezone !== undefined) parseZone(args.timezone, '--timezone');
    const source = args.source === undefined ? undefined : parseSource(args.source);
    const scheme = args.remote === undefined ? undefined : /^([a-z][a-z0-9+.-]*):\/\//i.exec(args.remote)?.[1]?.toLowerCase();
    if (scheme !== undefined && !DVC_SCHEMES.includes(scheme)) {
      throw new ChatcastError('USAGE', `Invalid --remote "${args.remote}": expected a folder or a URL DVC can store to (${DVC_SCHEMES.map((s) => `${s}://`).join(', ')}; this image has the plugin for s3://)`);
    }
    const dir = resolveWorkspaceDir(args.workspace);
    const { created, remote } = await initWorkspace(dir, {
      ...args,
      // A TSV named on the command line is relative to the caller; params.yaml keeps it absolute.
      source: source?.kind === 'tsv' ? `tsv:${resolve(source.file)}` : args.source,
    });
    ctx.log.info({ step: 'init', workspace: dir, remote, created }, created ? `workspace ready at ${dir} (DVC remote ${remote})` : `${dir} already is a workspace; nothing changed`);
    return { dir, remote, created };
  },
});
