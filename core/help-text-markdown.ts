// Reply text as Teams shows it. Teams renders a message with textFormat `markdown` through its own Markdown subset
// that also reads HTML: text between `<` and `>` is taken for a tag, a `<` inside a code span is shown as the entity
// `&lt;` (seen: `run &lt;script&gt;`), and a backslash before punctuation is an escape that disappears (seen:
// `C:\windows\TEMP\<process>` shown as `C:\windows\TEMP&lt;process>`). `plain` would show the text literally but
// lose the bold and code spans replies rely on, so replies stay Markdown and are made safe here, at one place.

/** Angle brackets drawn as single guillemets, which no renderer takes for a tag or escapes. */
const ANGLE: Record<string, string> = { '<': '‹', '>': '›' };

/**
 * Makes a Markdown reply show as written in Teams: angle brackets (in and out of code spans) become `‹ ›`, and
 * outside code spans every backslash is doubled so that Markdown shows it once (inside code spans backslashes are
 * literal already). Code spans are single-backtick spans as our replies write them (see `inlineCode`).
 */
export function teamsMarkdown(markdown: string): string {
  return markdown
    .split(/(`[^`\n]*`)/)
    .map((part, index) => {
      const angled = part.replace(/[<>]/g, (c) => ANGLE[c]!);
      // Odd parts are the code spans the split captured.
      return index % 2 === 1 ? angled : angled.replaceAll('\\', '\\\\');
    })
    .join('');
}
