// `npm run cards:png`: draws fixture request cards with the adaptivecards JS renderer in headless Chromium,
// styled like Teams (light theme), and saves them as PNGs under docs/cards/ for the README.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { AdaptiveCard } from '../cards/adaptive-card.js';
import { renderFanOutCard } from '../cards/fan-out-card.js';
import {
  fixtureDumpWithoutGetFile,
  fixtureFanOut,
  fixtureFollowUp,
  fixtureOptions,
  fixtureRequest,
} from '../cards/fixtures.js';
import { renderRequestCard } from '../cards/request-card.js';
import type { LiveResponseRequest } from '../core/request.js';
import { summariseTranscript } from '../core/summarise-transcript.js';

const CHROMIUM = '/usr/bin/chromium';
// Everything the page loads is answered by page.route below; the browser must never reach the network.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ORIGIN = 'http://cards.local';
const CARD_WIDTH_PX = 500;

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outputDir = join(repoRoot, 'docs', 'cards');
const rendererBundle = join(
  dirname(createRequire(import.meta.url).resolve('adaptivecards/package.json')),
  'dist',
  'adaptivecards.min.js',
);

interface Scene {
  file: string;
  card: AdaptiveCard;
}

/**
 * Defender says Succeeded, the script says exit code 1: the header warns, and output that looks like markdown
 * (lists, emphasis, a link) is drawn literally, one line per line, blank line included.
 */
function scriptExitedNonZero(): LiveResponseRequest {
  const request = fixtureRequest('Succeeded');
  request.progress[0] = {
    ...request.progress[0]!,
    transcript: summariseTranscript(
      JSON.stringify({
        script_name: 'minidump.ps1',
        exit_code: 1,
        script_output: [
          'Candidates:',
          '- OfficeClickToRun (pid 4312)',
          '1. C:\\Program Files\\Common Files\\microsoft shared\\ClickToRun\\OfficeClickToRun.exe',
          '',
          '**dump skipped** see [docs](http://x) _later_',
        ].join('\r\n'),
        script_errors:
          'Out-File : Access to the path C:\\windows\\TEMP\\OfficeClickToRun.dmp is denied.\r\n' +
          '    + FullyQualifiedErrorId : FileOpenFailure,Microsoft.PowerShell.Commands.OutFileCommand',
      }),
    ),
  };
  return request;
}

function fanOutCard(fanOut: ReturnType<typeof fixtureFanOut>): AdaptiveCard {
  return renderFanOutCard(fanOut.parent, fanOut.children, fixtureOptions({ viewer: 'everyone' }));
}

const SCENES: Scene[] = [
  {
    file: 'awaiting-approval.png',
    card: renderRequestCard(fixtureRequest('AwaitingApproval'), fixtureOptions({ viewer: 'everyone' })),
  },
  {
    file: 'in-progress.png',
    card: renderRequestCard(fixtureRequest('InProgress'), fixtureOptions({ viewer: 'requester' })),
  },
  {
    file: 'succeeded.png',
    card: renderRequestCard(fixtureRequest('Succeeded'), fixtureOptions({ viewer: 'other' })),
  },
  {
    file: 'failed.png',
    card: renderRequestCard(fixtureRequest('Failed'), fixtureOptions({ viewer: 'other' })),
  },
  {
    file: 'script-exit-code.png',
    card: renderRequestCard(scriptExitedNonZero(), fixtureOptions({ viewer: 'other' })),
  },
  {
    // The finished card as posted with FOLLOWUP_PREAPPROVAL=on: Collect for the dump its output named.
    file: 'follow-up-offer.png',
    card: renderRequestCard(
      fixtureDumpWithoutGetFile(),
      fixtureOptions({ viewer: 'everyone', followUpPreApprovalMs: 15 * 60_000 }),
    ),
  },
  {
    file: 'follow-up.png',
    card: renderRequestCard(fixtureFollowUp(), fixtureOptions({ viewer: 'everyone' })),
  },
  {
    // One approval for several devices: each device's pre-flight, one left out.
    file: 'fan-out-approval.png',
    card: fanOutCard(fixtureFanOut(5, { state: 'AwaitingApproval' })),
  },
  {
    // The same card at the end: a row per device and the summary line.
    file: 'fan-out.png',
    card: fanOutCard(fixtureFanOut(10)),
  },
];

/** The same palette for text on every container style, as Teams does in its light theme. */
const TEXT_COLOURS = {
  default: { default: '#242424', subtle: '#616161' },
  dark: { default: '#242424', subtle: '#616161' },
  light: { default: '#FFFFFF', subtle: '#F5F5F5' },
  accent: { default: '#5B5FC7', subtle: '#4F52B2' },
  good: { default: '#237B4B', subtle: '#0E700E' },
  warning: { default: '#835C00', subtle: '#8A5A00' },
  attention: { default: '#C4314B', subtle: '#B10E1C' },
};

const containerStyle = (backgroundColor: string) => ({ backgroundColor, foregroundColors: TEXT_COLOURS });
const fontSizes = { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 };
const fontWeights = { lighter: 300, default: 400, bolder: 600 };

/** A Teams-like host config: Segoe UI first (with local stand-ins), Teams' purple accent, light containers. */
const TEAMS_LIGHT_HOST_CONFIG = {
  supportsInteractivity: true,
  fontTypes: {
    default: {
      fontFamily:
        "'Segoe UI', 'Segoe UI Web (West European)', -apple-system, BlinkMacSystemFont, Roboto, 'Helvetica Neue', 'Liberation Sans', 'DejaVu Sans', sans-serif",
      fontSizes,
      fontWeights,
    },
    monospace: {
      fontFamily: "Consolas, Menlo, 'DejaVu Sans Mono', 'Liberation Mono', monospace",
      fontSizes,
      fontWeights,
    },
  },
  spacing: { small: 4, default: 8, medium: 16, large: 20, extraLarge: 24, padding: 12 },
  separator: { lineThickness: 1, lineColor: '#E0E0E0' },
  containerStyles: {
    default: containerStyle('#FFFFFF'),
    emphasis: containerStyle('#F5F5F5'),
    accent: containerStyle('#E8EBFA'),
    good: containerStyle('#E7F2DA'),
    attention: containerStyle('#FDE7E9'),
    warning: containerStyle('#FFF4CE'),
  },
  actions: {
    maxActions: 6,
    spacing: 'medium',
    buttonSpacing: 8,
    actionsOrientation: 'horizontal',
    actionAlignment: 'stretch',
  },
  factSet: {
    title: {
      color: 'default',
      size: 'default',
      isSubtle: true,
      weight: 'default',
      wrap: true,
      maxWidth: 150,
    },
    value: { color: 'default', size: 'default', isSubtle: false, weight: 'default', wrap: true },
    spacing: 16,
  },
  textStyles: {
    heading: { size: 'large', weight: 'bolder', color: 'default', isSubtle: false, fontType: 'default' },
  },
};

// Buttons and inputs are drawn by CSS, not the host config; these rules imitate Teams' Fluent controls.
const PAGE_CSS = `
  body { margin: 0; padding: 24px; background: #F5F5F5; -webkit-font-smoothing: antialiased; }
  #card { width: ${CARD_WIDTH_PX}px; background: #FFFFFF; border-radius: 6px; overflow: hidden;
          box-shadow: 0 1px 2px rgba(0,0,0,0.14), 0 0 2px rgba(0,0,0,0.12); }
  .ac-pushButton, .ac-pushButton-disabled {
    font: 600 14px 'Segoe UI', 'Liberation Sans', 'DejaVu Sans', sans-serif; height: 32px; padding: 0 12px;
    border-radius: 4px; border: 1px solid #D1D1D1; background: #FFFFFF; color: #242424;
    overflow: hidden; text-overflow: ellipsis; white-space: nowrap; cursor: pointer; }
  .ac-pushButton.style-positive { background: #5B5FC7; border-color: #5B5FC7; color: #FFFFFF; }
  .ac-pushButton.style-destructive { color: #C4314B; }
  .ac-pushButton-disabled, .ac-pushButton-disabled.style-positive, .ac-pushButton-disabled.style-destructive {
    background: #F0F0F0; border-color: #E0E0E0; color: #BDBDBD; cursor: default; }
  .ac-textInput { font: 14px 'Segoe UI', 'Liberation Sans', 'DejaVu Sans', sans-serif; height: 32px;
    box-sizing: border-box; padding: 0 10px; border: 1px solid #D1D1D1; border-bottom-color: #616161;
    border-radius: 4px; width: 100%; }
  .ac-textInput::placeholder { color: #707070; }
  .mention { color: #5B5FC7; font-weight: 600; }
  /* Script output is one RichTextBlock per line; the Agents Playground's Teams renderer keeps a TextRun's spaces
     (pre-wrap, so Format-Table columns and indented error lines line up) and wraps a word wider than the card. */
  .ac-textRun { white-space: pre-wrap; }
  .ac-richTextBlock { overflow-wrap: anywhere; }
`;

// Runs in the page. Plain text keeps its newlines (innerText); only text with <at> mentions becomes HTML,
// escaped first, so a mention looks like Teams draws it instead of showing the raw markup.
const PAGE_SCRIPT = `
  const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    if (!text.includes('<at>')) return;
    result.outputHtml = '<p>' + escapeHtml(text).replace(/&lt;at&gt;(.*?)&lt;\\/at&gt;/g, '<span class="mention">$1</span>') + '</p>';
    result.didProcess = true;
  };
  window.renderCard = (card, hostConfig) => {
    const adaptiveCard = new AdaptiveCards.AdaptiveCard();
    adaptiveCard.hostConfig = new AdaptiveCards.HostConfig(hostConfig);
    const context = new AdaptiveCards.SerializationContext();
    adaptiveCard.parse(card, context);
    document.getElementById('card').replaceChildren(adaptiveCard.render());
    const problems = [];
    for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
    const validation = adaptiveCard.validateProperties();
    for (const event of validation.validationEvents) problems.push(event.message);
    return problems;
  };
`;

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><style>${PAGE_CSS}</style>
<script src="${ORIGIN}/adaptivecards.min.js"></script>
<script>${PAGE_SCRIPT}</script></head>
<body><div id="card"></div></body></html>`;

type RenderInPage = (card: unknown, hostConfig: unknown) => string[];

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install it with "apt-get update && apt-get install -y chromium".`,
    );
  }
  mkdirSync(outputDir, { recursive: true });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({
      viewport: { width: CARD_WIDTH_PX + 48, height: 600 },
      deviceScaleFactor: 2,
    });
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url === `${ORIGIN}/`) return route.fulfill({ contentType: 'text/html', body: PAGE_HTML });
      if (url === `${ORIGIN}/adaptivecards.min.js`) {
        return route.fulfill({ contentType: 'text/javascript', body: readFileSync(rendererBundle, 'utf8') });
      }
      return route.abort();
    });
    await page.goto(`${ORIGIN}/`);

    // CARDS=<part of a file name> redraws only those pictures (e.g. CARDS=fan-out npm run cards:png).
    const only = process.env.CARDS;
    for (const scene of SCENES.filter((s) => !only || s.file.includes(only))) {
      // JSON text crosses into the page: the card's recursive JSON type is too deep for evaluate's typing.
      const problems = await page.evaluate(
        ([card, hostConfig]) =>
          (globalThis as unknown as { renderCard: RenderInPage }).renderCard(
            JSON.parse(card),
            JSON.parse(hostConfig),
          ),
        [JSON.stringify(scene.card), JSON.stringify(TEAMS_LIGHT_HOST_CONFIG)] as const,
      );
      const path = join(outputDir, scene.file);
      await page.locator('#card').screenshot({ path });
      console.log(`wrote ${path}${problems.length > 0 ? `\n  renderer says: ${problems.join('\n  ')}` : ''}`);
    }
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
