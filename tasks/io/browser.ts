import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatcastError } from '../core/errors.js';
import type { Figure } from '../core/charts.js';

const require = createRequire(import.meta.url);
const SYSTEM_BROWSERS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
// Flags for a root user in a container on a closed network: no sandbox, no GPU, no phoning home.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
  '--font-render-hinting=none',
];

// The browser to drive: $CHATCAST_CHROMIUM, else $PUPPETEER_EXECUTABLE_PATH, else the system Chromium.
export function browserPath(): string {
  const chosen = process.env.CHATCAST_CHROMIUM || process.env.PUPPETEER_EXECUTABLE_PATH;
  if (chosen) return chosen;
  const found = SYSTEM_BROWSERS.find((p) => existsSync(p));
  if (found) return found;
  throw new ChatcastError(
    'EXTERNAL',
    `No Chromium found at ${SYSTEM_BROWSERS.join(', ')}: install Debian's chromium (apt-get install chromium fonts-dejavu-core) or set CHATCAST_CHROMIUM`,
  );
}

// Draws figures with plotly.js in headless Chromium and returns one PNG per figure.
export async function renderPngs(figures: Figure[], size: { width: number; height: number }): Promise<Buffer[]> {
  const executablePath = browserPath();
  // Loaded here, not at start-up: only `render` drives a browser.
  const { default: puppeteer } = await import('puppeteer');
  const profile = await mkdtemp(join(tmpdir(), 'chatcast-chromium-'));
  let browser;
  try {
    // `pipe`: Chromium talks to us over its stdin/stdout and exits when they close, so it dies with
    // this process however that ends (a kill -9, a task timeout), never left holding a gigabyte.
    browser = await puppeteer.launch({ executablePath, headless: true, args: FLAGS, userDataDir: profile, timeout: 60_000, pipe: true });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw new ChatcastError('EXTERNAL', `Chromium "${executablePath}" did not start: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"><div id="chart"></div></body></html>');
    await page.addScriptTag({ path: require.resolve('plotly.js-dist') });
    const out: Buffer[] = [];
    for (const figure of figures) {
      const dataUrl = await page.evaluate(
        async (fig, width, height) => {
          const Plotly = (window as unknown as { Plotly: any }).Plotly;
          const gd = document.getElementById('chart')!;
          await Plotly.newPlot(gd, fig.data, { ...fig.layout, width, height }, { staticPlot: true });
          const url: string = await Plotly.toImage(gd, { format: 'png', width, height, scale: 1 });
          Plotly.purge(gd);
          return url;
        },
        figure,
        size.width,
        size.height,
      );
      out.push(Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
    }
    return out;
  } catch (error) {
    if (error instanceof ChatcastError) throw error;
    throw new ChatcastError('EXTERNAL', `Rendering a chart in Chromium failed: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  } finally {
    await browser.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  }
}
