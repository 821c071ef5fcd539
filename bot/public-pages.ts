// The pages the Teams app manifest links to (website, privacy, terms): short and true to what this bot does.

export interface PublicPage {
  title: string;
  /** Plain text, one paragraph each (escaped when served). */
  paragraphs: readonly string[];
}

/** Served at these paths; the manifest builder points websiteUrl, privacyUrl and termsOfUseUrl at them by default. */
export const PUBLIC_PAGES: Readonly<Record<'/' | '/privacy' | '/terms', PublicPage>> = {
  '/': {
    title: 'LR Bot',
    paragraphs: [
      'LR Bot runs Microsoft Defender for Endpoint live response from Microsoft Teams, after an on-call approver approves each request.',
      'It is operated by your organisation. See /privacy for what it stores and /terms for the conditions of use.',
    ],
  },
  '/privacy': {
    title: 'LR Bot: privacy',
    paragraphs: [
      'LR Bot is run by your organisation on its own infrastructure; nothing is sent to the bot’s authors.',
      'For each request it stores, in your organisation’s Redis: who asked and who approved, rejected or cancelled it (Teams name, Teams and Entra ids, user principal name), the conversation it was made in, the device (name, Defender id, OS, health, last seen), the commands with their arguments and reason, Defender’s action id and states, short summaries of script output, and an audit trail of every decision with its time.',
      'Finished requests are kept for 30 days by default, then removed; the audit trail is kept as your operator configured it.',
      'Files collected from devices stay in Microsoft Defender: download links on the cards lead to Defender’s own short-lived links, and the bot keeps no copy of the files.',
      'The bot’s logs hold request ids and outcomes, never secrets, tokens or download link signatures.',
      'It reads Teams profiles only to check approvers and to mention them on cards. Questions go to your security operations team.',
    ],
  },
  '/terms': {
    title: 'LR Bot: terms of use',
    paragraphs: [
      'LR Bot is for authorised incident response by your organisation’s security staff, on devices your organisation manages.',
      'Every command runs only after an approver approves it; requests, approvals and their times are recorded for audit.',
      'Use it under your organisation’s security and acceptable use policies. It is provided as is, without warranty.',
    ],
  },
};
