import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'puppeteer';
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

// Chromium with plotly.js loaded in a page, ready to draw: `chatcast run` opens it early, so that Chromium
// starts and parses plotly.js while DVC pulls and the model trains, not after.
export interface ChartPage {
  draw(figures: Figure[], size: { width: number; height: number }): Promise<Buffer[]>;
  close(): Promise<void>;
}

function renderFailed(error: unknown): ChatcastError {
  if (error instanceof ChatcastError) return error;
  return new ChatcastError('EXTERNAL', `Rendering a chart in Chromium failed: ${(error as Error).message.split('\n')[0]}`, { cause: error });
}

// Starts headless Chromium and loads plotly.js into one page; the caller closes it.
export async function openChartPage(): Promise<ChartPage> {
  const executablePath = browserPath();
  // Loaded here, not at start-up: only `render` drives a browser.
  const { default: puppeteer } = await import('puppeteer');
  const profile = await mkdtemp(join(tmpdir(), 'chatcast-chromium-'));
  let browser: Browser;
  try {
    // `pipe`: Chromium talks to us over its stdin/stdout and exits when they close, so it dies with
    // this process however that ends (a kill -9, a task timeout), never left holding a gigabyte.
    browser = await puppeteer.launch({ executablePath, headless: executablePath.includes('headless-shell') ? 'shell' : true, args: FLAGS, userDataDir: profile, timeout: 60_000, pipe: true });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw new ChatcastError('EXTERNAL', `Chromium "${executablePath}" did not start: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  const close = async () => {
    await browser.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  };
  try {
    const page = await browser.newPage();
    // plotly.js (10 MB) comes in by <script src>, which Chromium parses as it streams: injected through
    // the DevTools pipe as text it took three times as long.
    const html = join(profile, 'chart.html');
    await writeFile(
      html,
      `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"><div id="chart"></div><script src="${pathToFileURL(require.resolve('plotly.js-dist')).href}"></script></body></html>`,
    );
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load', timeout: 60_000 });
    return {
      async draw(figures, size) {
        try {
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
          throw renderFailed(error);
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw renderFailed(error);
  }
}

// Draws figures with plotly.js in headless Chromium and returns one PNG per figure (one browser, one page).
export async function renderPngs(figures: Figure[], size: { width: number; height: number }): Promise<Buffer[]> {
  const page = await openChartPage();
  try {
    return await page.draw(figures, size);
  } finally {
    await page.close();
  }
}
