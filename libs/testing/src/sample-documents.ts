const ENGLISH_WORDS = [
  'market',
  'chip',
  'supply',
  'memory',
  'packaging',
  'demand',
  'growth',
  'price',
  'server',
  'wafer',
  'capacity',
  'design',
  'the',
  'of',
  'and',
  'in',
];
const CHINESE_WORDS = [
  '台積電',
  '晶圓',
  '代工',
  '產能',
  '市場',
  '需求',
  '記憶體',
  '封裝',
  '供應',
  '成長',
  '價格',
  '晶片',
];
const WORDS_PER_SENTENCE = 12;

/**
 * A document of exactly `bytes` UTF-8 bytes ending with `last`: sentences of twelve words drawn
 * from a small vocabulary (the shape of the text that showed the segmenter's slowdown), then
 * spaces up to the size, then `last`. The same arguments give the same text.
 */
export function sampleDocument(language: 'en' | 'zh', bytes: number, last = ''): string {
  const words = language === 'en' ? ENGLISH_WORDS : CHINESE_WORDS;
  const budget = bytes - Buffer.byteLength(last) - 1;
  const sentences: string[] = [];
  let size = 0;
  let seed = 12345;
  for (;;) {
    const chosen = Array.from({ length: WORDS_PER_SENTENCE }, () => {
      // A linear congruential generator (its high bits): varied words, the same on every run.
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return words[Math.floor((seed / 2147483648) * words.length)] as string;
    });
    const sentence =
      language === 'en'
        ? `${chosen.join(' ').replace(/^./, (first) => first.toUpperCase())}. `
        : `${chosen.join('')}。`;
    const sentenceBytes = Buffer.byteLength(sentence);
    if (size + sentenceBytes > budget) break;
    sentences.push(sentence);
    size += sentenceBytes;
  }
  return `${sentences.join('')}${' '.repeat(bytes - size - Buffer.byteLength(last))}${last}`;
}
