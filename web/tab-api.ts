// The tab's HTTP surface: its page and bundle, a JSON API behind Teams SSO, and single-use download grants.
// Every API call verifies the token first; every request is filtered by who the person is (tab-access.ts);
// decisions and fresh links go through the same use case as the card's buttons.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { CARD_VERBS, REJECT_REASON_INPUT_ID } from '../cards/card-verbs.js';
import { type ApprovalPolicy, isApprover } from '../core/approval-policy.js';
import type { Clock } from '../core/clock.js';
import type { LiveResponseRequest, Person } from '../core/request.js';
import { normaliseRequestId } from '../core/request-id.js';
import { actorOf, type RequestStore } from '../core/request-store.js';
import type { DefenderApi } from '../defender/defender-client.js';
import { openLink, type ResultLinkStore } from '../defender/result-links.js';
import type { ChatTurn, ConversationKind } from '../flows/chat-turn.js';
import { handleCardAction } from '../flows/handle-card-action.js';
import type { OnCallDirectory } from '../graph/on-call-directory.js';
import type { JobScheduler } from '../jobs/job-scheduler.js';
import type { DownloadGrants } from './download-grants.js';
import { streamDownload } from './download-grants.js';
import { type SignedInPerson, SsoError, type SsoVerifier } from './sso-verifier.js';
import type { TabAccess } from './tab-access.js';
import type { TabIndex } from './tab-index.js';
import { downloadName, toDetail, toRow } from './tab-views.js';

export interface TabApiDeps {
  requests: RequestStore;
  /** Null when SSO is not configured: the API answers 503 and says what to set. */
  verifier: SsoVerifier | null;
  access: TabAccess;
  index: TabIndex;
  grants: DownloadGrants;
  links: ResultLinkStore;
  defender: Pick<DefenderApi, 'getResultDownloadLink'>;
  scheduler: JobScheduler;
  policy: ApprovalPolicy;
  /** Who is on call (group:, tag:, shifts: approvers): a decision from the tab asks it like a click on the card. */
  onCall?: OnCallDirectory;
  clock: Clock;
  logger: Logger;
  publicBaseUrl: string;
  /** Where the built page lives (`npm run build:tab`). */
  assetsDir?: string;
  /** The local Teams host page (demo, tests); absent in production. */
  localHostPage?: (req: Request) => string;
}

/** Most requests a list shows; a conversation rarely has more in the 30 days a finished request is kept. */
const LIST_LIMIT = 200;
/** A download waits this long for Defender's result store before giving up. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

const here = dirname(fileURLToPath(import.meta.url));
/**
 * `tab` beside the compiled `dist/web`, or `dist/tab` beside the sources (tsx). Decided by where this file runs
 * from, not by which folder exists when it is loaded: the sources' own `tab/` holds an index.html too, and a
 * checkout whose bundle is built after start-up (tests, the demo) would otherwise serve a page without its script.
 */
const DEFAULT_TAB_ASSETS =
  basename(dirname(here)) === 'dist' ? join(here, '..', 'tab') : join(here, '..', 'dist', 'tab');

type Handler = (req: Request, res: Response, who: SignedInPerson) => Promise<void>;

export function createTabRouter(deps: TabApiDeps): express.Router {
  const router = express.Router();
  const assets = deps.assetsDir ?? DEFAULT_TAB_ASSETS;

  // Teams shows the tab in an iframe on its own origins; the local host page is same-origin.
  const frameAncestors =
    "frame-ancestors 'self' https://teams.microsoft.com https://*.teams.microsoft.com https://*.cloud.microsoft https://*.office.com";
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', frameAncestors);
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  router.get(['/tab', '/tab/', '/tab/index.html'], (_req, res) => {
    const page = join(assets, 'index.html');
    if (!existsSync(page)) {
      res
        .status(503)
        .type('text')
        .send('The tab is not built: run `npm run build:tab` (part of `npm run build`).');
      return;
    }
    res.sendFile(page);
  });
  router.use('/tab/assets', express.static(join(assets, 'assets'), { fallthrough: false, maxAge: '1h' }));
  if (deps.localHostPage) {
    const page = deps.localHostPage;
    router.get('/tab/local-host', (req, res) => {
      res.type('html').send(page(req));
    });
  }

  const api = (handler: Handler) => async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!deps.verifier) {
      res.status(503).json({
        error:
          'The tab needs single sign-on: set TAB_SSO_APP_ID (or MicrosoftAppId) as README "Teams tab" shows.',
      });
      return;
    }
    let who: SignedInPerson;
    try {
      who = await deps.verifier.verify(req.header('authorization'));
    } catch (error) {
      if (!(error instanceof SsoError)) throw error;
      deps.logger.info({ path: req.path, reason: error.message }, 'tab sign-in refused');
      res.status(error.status).json({ error: error.message });
      return;
    }
    try {
      await handler(req, res, who);
    } catch (error) {
      deps.logger.warn({ path: req.path, err: String(error) }, 'tab request failed');
      if (!res.headersSent)
        res.status(502).json({ error: 'Teams or Redis did not answer just now; try again in a minute.' });
    }
  };

  /** The request when this person may see it; otherwise the same 404 as for an id that does not exist. */
  async function visible(rawId: unknown, who: SignedInPerson): Promise<LiveResponseRequest | null> {
    const id = typeof rawId === 'string' ? normaliseRequestId(rawId) : undefined;
    const request = id ? await deps.requests.get(id) : null;
    if (!request) return null;
    return (await deps.access.relationTo(request, who)) ? request : null;
  }
  const notFound = (res: Response, id: unknown) =>
    res.status(404).json({ error: `There is no request ${String(id).slice(0, 20)} that you may see.` });

  /** Teams' roster knows the person's `29:` id; the audit and the policy's UPN match use it when known. */
  async function personIn(request: LiveResponseRequest, who: SignedInPerson): Promise<Person> {
    const member = await deps.access.member(request, who).catch(() => null);
    return member
      ? { ...who.person, teamsId: member.teamsId, upn: who.person.upn ?? member.upn }
      : who.person;
  }

  router.get(
    '/tab/api/me',
    api(async (_req, res, who) => {
      res.json({ name: who.person.name, isApprover: isApprover(who.person, deps.policy) });
    }),
  );

  router.get(
    '/tab/api/conversations/:conversationId/requests',
    api(async (req, res, who) => {
      const conversationId = String(req.params.conversationId);
      const all = await deps.requests.listByConversation(conversationId, LIST_LIMIT);
      const rows = [];
      for (const request of all) if (await deps.access.relationTo(request, who)) rows.push(toRow(request));
      res.json({ requests: rows });
    }),
  );

  router.get(
    '/tab/api/my-requests',
    api(async (_req, res, who) => {
      const oid = who.person.aadObjectId ?? '';
      const mineIds = await deps.index.requestedBy(oid, LIST_LIMIT);
      const mine = (await Promise.all(mineIds.map((id) => deps.requests.get(id)))).filter(
        (r): r is LiveResponseRequest => r !== null && r.tenantId.toLowerCase() === who.tenantId,
      );
      const waiting: LiveResponseRequest[] = [];
      // On-call approvers may be anyone the directory names, so every open request is asked with the card's rule.
      if (isApprover(who.person, deps.policy) || deps.access.usesDirectory) {
        const openIds = await deps.index.open(LIST_LIMIT);
        const open = await Promise.all(openIds.map((id) => deps.requests.get(id)));
        const decided = openIds.filter((_, i) => open[i]?.state !== 'AwaitingApproval');
        await deps.index.close(decided);
        for (const request of open)
          if (
            request &&
            request.tenantId.toLowerCase() === who.tenantId &&
            (await deps.access.mayDecide(request, who.person))
          )
            waiting.push(request);
      }
      res.json({ mine: mine.map(toRow), awaitingMyApproval: waiting.map(toRow) });
    }),
  );

  router.get(
    '/tab/api/requests/:id',
    api(async (req, res, who) => {
      const request = await visible(req.params.id, who);
      if (!request) return void notFound(res, req.params.id);
      const trail = await deps.requests.auditTrail(request.id);
      const canDecide = await deps.access.mayDecide(request, who.person);
      res.json(toDetail(request, trail, { canDecide, now: deps.clock.now() }));
    }),
  );

  /** A Teams turn as the card use case expects it, for a person who acts from the tab. */
  function tabTurn(request: LiveResponseRequest, who: SignedInPerson, person: Person): ChatTurn {
    const reference = request.conversationRef as { conversation?: { conversationType?: string } };
    const type = reference.conversation?.conversationType;
    const kind: ConversationKind =
      type === 'channel' ? 'channel' : type === 'personal' ? 'personal' : 'groupChat';
    const noReply = async () => {
      throw new Error('the tab cannot post to the conversation');
    };
    return {
      // The tenant was matched (case-insensitively) by tab-access before any action.
      tenantId: request.tenantId,
      conversationId: request.conversationId,
      conversationKind: kind,
      conversationRef: request.conversationRef,
      placeLabel: 'Teams tab',
      from: person,
      reply: noReply,
      sendCard: noReply,
      // The signed-in person (the use case asks by their `29:` id or object id), or anyone else by object id (names of
      // on-call people Graph gave without one).
      lookupMember: async (id) =>
        [person.teamsId, person.aadObjectId].includes(id)
          ? deps.access.member(request, who)
          : deps.access.findMember(request, id),
    };
  }

  router.post(
    '/tab/api/requests/:id/decision',
    express.json({ limit: '8kb' }),
    api(async (req, res, who) => {
      const request = await visible(req.params.id, who);
      if (!request) return void notFound(res, req.params.id);
      const body = (req.body ?? {}) as { decision?: unknown; reason?: unknown };
      if (body.decision !== 'approve' && body.decision !== 'reject') {
        res
          .status(400)
          .json({ error: 'Say "approve" or "reject", e.g. {"decision":"reject","reason":"wrong device"}.' });
        return;
      }
      const person = await personIn(request, who);
      const verb = body.decision === 'approve' ? CARD_VERBS.approve : CARD_VERBS.reject;
      const before = deps.clock.nowIso();
      const reply = await handleCardAction(
        tabTurn(request, who, person),
        verb,
        { requestId: request.id, [REJECT_REASON_INPUT_ID]: body.reason },
        { ...deps },
      );
      const after = (await deps.requests.get(request.id)) ?? request;
      // The use case's own answer says whether this call decided: of two clicks at once by the same approver (two
      // tabs), the one that lost the compare-and-set is refused ("already approved") though the decision is theirs.
      const refused = reply.kind === 'message' || reply.refusal !== undefined;
      const decided =
        !refused &&
        after.decision?.by.aadObjectId?.toLowerCase() === person.aadObjectId &&
        after.decision?.kind === (body.decision === 'approve' ? 'approved' : 'rejected') &&
        after.decision.at >= before;
      if (decided) {
        res.json({ ok: true, request: toRow(after) });
        return;
      }
      // The use case recorded why it refused in the trail; say the same thing here.
      const trail = await deps.requests.auditTrail(request.id);
      const refusal = trail
        .filter((e) => e.actor?.aadObjectId === person.aadObjectId && e.at >= before)
        .filter((e) => e.action === 'refused' || e.action === 'expired')
        .at(-1);
      const message =
        reply.kind === 'message'
          ? reply.text
          : (reply.refusal ??
            refusal?.detail?.replace(/^lr\.\w+: /, '') ??
            `${request.id} is ${after.state} now.`);
      res.status(409).json({ ok: false, error: message, request: toRow(after) });
    }),
  );

  router.post(
    '/tab/api/requests/:id/fresh-links',
    api(async (req, res, who) => {
      const request = await visible(req.params.id, who);
      if (!request) return void notFound(res, req.params.id);
      const person = await personIn(request, who);
      const reply = await handleCardAction(
        tabTurn(request, who, person),
        CARD_VERBS.freshLinks,
        { requestId: request.id },
        { ...deps },
      );
      if (reply.kind === 'message') res.status(409).json({ ok: false, error: reply.text });
      else res.json({ ok: true });
    }),
  );

  router.post(
    '/tab/api/requests/:id/downloads/:index',
    api(async (req, res, who) => {
      const request = await visible(req.params.id, who);
      if (!request) return void notFound(res, req.params.id);
      const index = Number(req.params.index);
      const link = Number.isInteger(index) ? request.progress[index]?.link : undefined;
      if (!link || Date.parse(link.expiresAt) <= deps.clock.now()) {
        res.status(410).json({
          error: 'This result’s link has expired. Press “Get fresh links”; nothing runs on the device again.',
        });
        return;
      }
      const person = await personIn(request, who);
      const fileName = downloadName(request, index);
      const grant = await deps.grants.issue({
        requestId: request.id,
        index,
        linkId: link.id,
        fileName,
        actor: actorOf(person),
      });
      // Relative: the tab and its files share the bot's origin.
      res.json({ url: `/tab/download/${grant}`, fileName });
    }),
  );

  // No bearer header here (a browser download); the grant is the proof, once, for a minute.
  router.get('/tab/download/:grant', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const grant = await deps.grants.redeem(String(req.params.grant));
    const request = grant ? await deps.requests.get(grant.requestId) : null;
    const progress = grant && request ? request.progress[grant.index] : undefined;
    const target =
      progress?.link?.id === grant?.linkId && grant ? await deps.links.resolve(grant.linkId) : null;
    if (!grant || !request?.actionId || !target) {
      res
        .status(410)
        .type('text')
        .send(
          'This download has expired or was already used. Press Download in the Live response tab again.',
        );
      return;
    }
    try {
      const url = await openLink(deps, grant.linkId, target, request.actionId, grant.index);
      const sent = await streamDownload(url, grant.fileName, res, {
        timeoutMs: DOWNLOAD_TIMEOUT_MS,
        ...(progress?.file?.sha256 ? { sha256: progress.file.sha256 } : {}),
      });
      await deps.requests.audit(request.id, {
        action: 'downloaded',
        actor: grant.actor,
        detail: `${grant.fileName} (${sent.bytes} bytes, SHA-256 ${sent.sha256})`,
      });
      deps.logger.info({ requestId: request.id, index: grant.index, bytes: sent.bytes }, 'tab download');
    } catch (error) {
      deps.logger.warn(
        { requestId: request.id, index: grant.index, err: String(error) },
        'tab download failed',
      );
      await deps.requests
        .audit(request.id, { action: 'download-failed', actor: grant.actor, detail: grant.fileName })
        .catch(() => undefined);
      if (!res.headersSent)
        res
          .status(502)
          .type('text')
          .send('Defender did not give the file just now. Try Download again in a minute.');
      else res.destroy();
    }
  });

  return router;
}
