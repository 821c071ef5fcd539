// Looks a person up in a conversation's roster through Bot Framework, outside any turn: the tab asks whether the
// signed-in person is a member of the conversation a request was made in.
import { type CloudAdapter, type ConversationReference, TeamsInfo } from 'botbuilder';
import type { StoredConversationReference } from '../core/request.js';
import type { RosterPort } from '../web/tab-access.js';
import { personFrom } from './teams-turn.js';

/** A hung roster call must not hold a tab request for long; the tab says "try again". */
const ROSTER_TIMEOUT_MS = 8_000;

export function createTeamsRoster(adapter: CloudAdapter, botAppId: string): RosterPort {
  return {
    async findMember(stored: StoredConversationReference, aadObjectId: string) {
      const reference = stored as unknown as ConversationReference;
      // GET /v3/conversations/{id}/members/{userId} takes an Entra object id as the user id. A channel thread's
      // id carries `;messageid=`; the roster belongs to the channel (the team's roster).
      const conversationId = reference.conversation.id.split(';')[0] ?? reference.conversation.id;
      const base = { ...reference, conversation: { ...reference.conversation, id: conversationId } };
      let found: ReturnType<typeof personFrom> | null = null;
      let failure: unknown;
      const lookup = adapter.continueConversationAsync(botAppId, base, async (context) => {
        try {
          found = personFrom(await TeamsInfo.getMember(context, aadObjectId));
        } catch (error) {
          // 404 MemberNotFoundInConversation: not a member. Anything else is a failure to report.
          if ((error as { statusCode?: number }).statusCode !== 404) failure = error;
        }
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('Teams did not answer the roster look-up in time')),
          ROSTER_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([lookup, timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (failure) throw failure;
      return found;
    },
  };
}
