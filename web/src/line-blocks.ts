// A paste is shown in blocks of lines, so no frame has to lay out or highlight all of a long one:
// the browser renders only the blocks near the viewport (`content-visibility: auto` on
// `.line-block` in styles.css), and highlighting fills in one block per frame.

export const LINES_PER_BLOCK = 1000;

export interface LineBlock {
  /** The block's lines, each with its newline: the blocks' texts join back into the paste. */
  text: string;
  firstLine: number;
  lineCount: number;
}

/** Cuts text after every LINES_PER_BLOCK-th newline; empty text is one empty line. */
export function lineBlocks(text: string): LineBlock[] {
  const blocks: LineBlock[] = [];
  let start = 0;
  let firstLine = 1;
  do {
    let end = start;
    let lineCount = 0;
    while (lineCount < LINES_PER_BLOCK && end < text.length) {
      const newline = text.indexOf("\n", end);
      end = newline === -1 ? text.length : newline + 1;
      lineCount += 1;
    }
    blocks.push({ text: text.slice(start, end), firstLine, lineCount: Math.max(lineCount, 1) });
    start = end;
    firstLine += lineCount;
  } while (start < text.length);
  return blocks;
}

/** One element per block holding its text (as text, never markup). */
export function codeBlocks(blocks: readonly LineBlock[]): HTMLSpanElement[] {
  return blocks.map((block) => blockElement(block.text, block.lineCount));
}

/** The line numbers beside the code blocks, block for block and so line for line. */
export function numberBlocks(blocks: readonly LineBlock[]): HTMLSpanElement[] {
  const last = blocks[blocks.length - 1]!;
  const digits = String(last.firstLine + last.lineCount - 1).length;
  return blocks.map((block) => {
    const numbers = Array.from({ length: block.lineCount }, (_, line) => block.firstLine + line);
    const element = blockElement(
      numbers.join("\n") + (block === last ? "" : "\n"),
      block.lineCount,
    );
    // As wide as the widest block of numbers, even while the browser skips this one.
    element.style.setProperty("--digits", String(digits));
    return element;
  });
}

function blockElement(text: string, lineCount: number): HTMLSpanElement {
  const element = document.createElement("span");
  element.className = "line-block";
  element.textContent = text;
  // How tall the block is while the browser skips it; the CSSOM is not inline style to the CSP.
  element.style.setProperty("--lines", String(lineCount));
  return element;
}
