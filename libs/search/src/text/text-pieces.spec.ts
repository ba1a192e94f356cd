import { MAX_PIECE_LENGTH, Piece, textPieces } from './text-pieces';

function expectCover(text: string, pieces: Piece[], maxLength = MAX_PIECE_LENGTH): void {
  expect(pieces.map((piece) => text.slice(piece.start, piece.end)).join('')).toBe(text);
  for (const [index, piece] of pieces.entries()) {
    expect(piece.end - piece.start).toBeGreaterThan(0);
    expect(piece.end - piece.start).toBeLessThanOrEqual(maxLength);
    if (index > 0) expect(piece.start).toBe(pieces[index - 1]?.end);
  }
}

describe('textPieces', () => {
  it('keeps a short text whole and gives nothing for an empty one', () => {
    const text = 'One line.\nTwo lines.';
    expect(textPieces(text)).toEqual([{ start: 0, end: text.length }]);
    expect(textPieces('')).toEqual([]);
  });

  it('packs whole lines into each piece', () => {
    const text = ['first line', 'second line', 'third line', 'fourth line', 'fifth line'].join('\n');
    const pieces = textPieces(text, 24);
    expectCover(text, pieces, 24);
    expect(pieces.map((p) => text.slice(p.start, p.end))).toEqual([
      'first line\nsecond line\n',
      'third line\nfourth line\n',
      'fifth line',
    ]);
  });

  it('cuts a long line at the last sentence end that fits', () => {
    const text = 'The first sentence is here. The second one follows it. A third one ends the line.';
    const pieces = textPieces(text, 60);
    expectCover(text, pieces, 60);
    expect(pieces.map((p) => text.slice(p.start, p.end))).toEqual([
      'The first sentence is here. The second one follows it. ',
      'A third one ends the line.',
    ]);
  });

  it('does not take for a sentence end what only looks like one at the end of its window', () => {
    // Cut off after "12 ", "e.g. 12" reads as a sentence end; with what follows, it is not one.
    const text = 'Chips are scarce. Memory, e.g. 12 or 16 stacks of it, is short this year.';
    const pieces = textPieces(text, text.indexOf('or 16'));
    expect(text.slice(pieces[0]?.start, pieces[0]?.end)).toBe('Chips are scarce. ');
  });

  it('cuts a long Chinese line after its sentence-ending punctuation', () => {
    const text = '台積電是全球最大的晶圓代工廠。輝達設計人工智慧晶片。記憶體供應仍然緊張。';
    const pieces = textPieces(text, 30);
    expectCover(text, pieces, 30);
    expect(pieces.map((p) => text.slice(p.start, p.end))).toEqual([
      '台積電是全球最大的晶圓代工廠。輝達設計人工智慧晶片。',
      '記憶體供應仍然緊張。',
    ]);
  });

  it('cuts a sentence longer than a piece after whitespace', () => {
    const text = 'words without any end '.repeat(10);
    const pieces = textPieces(text, 50);
    expectCover(text, pieces, 50);
    for (const piece of pieces.slice(0, -1)) expect(text.charAt(piece.end - 1)).toBe(' ');
  });

  it('cuts a run with no line break, sentence end or whitespace, never inside a character', () => {
    const chinese = '人工智慧晶片需求'.repeat(300);
    expectCover(chinese, textPieces(chinese));

    // Emoji are surrogate pairs; "é" written as e + a combining accent is one letter. The "x"
    // puts a pair and a letter across the place of the cut.
    const pairs = `x${'😀'.repeat(700)}`;
    const pairPieces = textPieces(pairs);
    expectCover(pairs, pairPieces);
    for (const piece of pairPieces) expect(pairs.slice(piece.start, piece.end)).toMatch(/^x?(😀)+$/u);
    const accents = `x${'e\u0301'.repeat(700)}`;
    const accentPieces = textPieces(accents);
    expectCover(accents, accentPieces);
    for (const piece of accentPieces) expect(accents.slice(piece.start, piece.end)).toMatch(/^x?(e\u0301)+$/u);
  });

  it('covers a 1 MiB text of one line without punctuation in bounded pieces', () => {
    const text = '供應鏈'.repeat(116_509);
    expect(Buffer.byteLength(text)).toBeGreaterThanOrEqual(1024 * 1024);
    const pieces = textPieces(text);
    expectCover(text, pieces);
    expect(pieces.length).toBeGreaterThanOrEqual(Math.ceil(text.length / MAX_PIECE_LENGTH));
  });
});
