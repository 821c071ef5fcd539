// The Teams turn as the flows see it: who, where, and how to answer. bot/ builds it from a TurnContext.
import type { AdaptiveCard } from '../cards/adaptive-card.js';
import type { Person, StoredConversationReference } from '../core/request.js';

export type ConversationKind = 'channel' | 'groupChat' | 'personal';

export interface ChatTurn {
  tenantId: string;
  /** The thread's conversation id (cards and replies live here). */
  conversationId: string;
  conversationKind: ConversationKind;
  conversationRef: StoredConversationReference;
  /** Human label of the place, for the Defender Comment (e.g. "Teams channel 19:…"). */
  placeLabel: string;
  from: Person;
  reply(markdown: string): Promise<void>;
  /** Sends a card as its own activity; returns the activity id (for later updates). */
  sendCard(card: AdaptiveCard): Promise<string>;
  /** A member of this conversation by `29:` id, Entra object id or UPN; null when not a member. */
  lookupMember(idOrUpn: string): Promise<Person | null>;
  /** The Entra group id of the team a channel conversation belongs to (Teams tags and Shifts live there). */
  teamGroupId?(): Promise<string | undefined>;
}
