import { FetchedPage } from '../fetch/safe-fetcher';
import { readPage } from './page-reader';

const fetched = (body: string, format: FetchedPage['format'] = 'html'): FetchedPage => ({
  url: 'https://news.example/ai-chips',
  finalUrl: 'https://news.example/ai-chips',
  status: 200,
  format,
  mediaType: format === 'html' ? 'text/html' : 'text/plain',
  fetchedAt: new Date(),
  body,
  etag: null,
  lastModified: null,
  redirects: [],
});

const paragraph = (text: string) =>
  `<p>${text} ${'The analysts added more context in this paragraph, as articles do. '.repeat(3)}</p>`;

describe('readPage', () => {
  const article = `<!doctype html>
<html lang="zh-TW"><head><title>AI 晶片市場 2024 | 科技新聞</title>
<script>window.tracking = "TRACKING-SCRIPT";</script><style>.ad { color: red }</style></head>
<body>
  <nav><a href="/">首頁</a> <a href="/tech">NAV-LINK-TECH</a></nav>
  <header><div class="site-banner">SITE-BANNER</div></header>
  <main><article>
    <h1>AI 晶片市場 2024</h1>
    ${paragraph('NVIDIA held about 80 percent of the data-center accelerator market in 2024.')}
    ${paragraph('AMD shipped the <a href="https://amd.example/mi300">MI300 series</a> in volume.')}
    <table><tr><th>Vendor</th><th>Share</th></tr><tr><td>NVIDIA</td><td>80%</td></tr></table>
    ${paragraph('台積電的 CoWoS 先進封裝產能在 2024 年倍增。')}
    <img src="chart.png" alt="CHART-ALT">
  </article></main>
  <aside class="ad sidebar">ADVERT-SIDEBAR buy now</aside>
  <footer>FOOTER-COPYRIGHT 2024</footer>
</body></html>`;

  it('keeps the article, one paragraph per block, and drops navigation, scripts, ads, images and footers', () => {
    const page = readPage(fetched(article));
    expect(page).toMatchObject({
      title: expect.stringContaining('AI 晶片市場 2024'),
      language: 'zh-TW',
      article: true,
    });
    expect(page.text).toContain('NVIDIA held about 80 percent of the data-center accelerator market in 2024.');
    expect(page.text).toContain('AMD shipped the MI300 series in volume.');
    expect(page.text).toContain('台積電的 CoWoS 先進封裝產能在 2024 年倍增。');
    expect(page.text).toMatch(/Vendor\s+Share\nNVIDIA\s+80%/);
    for (const noise of [
      'TRACKING-SCRIPT',
      'NAV-LINK-TECH',
      'SITE-BANNER',
      'ADVERT-SIDEBAR',
      'FOOTER-COPYRIGHT',
      'CHART-ALT',
      'https://amd.example',
    ]) {
      expect([noise, page.text.includes(noise)]).toEqual([noise, false]);
    }
    // Paragraphs stay apart: a sentence never runs into the next block's.
    expect(page.text).toMatch(/as articles do\.\n\nAMD shipped/);
    expect(page.text).not.toMatch(/\n{3,}/);
  });

  it('reads a short page without an article to its body text', () => {
    const page = readPage(
      fetched(
        '<html><head><title>Links</title></head><body><ul><li>One short item</li><li>Two</li></ul></body></html>',
      ),
    );
    expect(page).toMatchObject({ title: 'Links', language: null });
    expect(page.text).toContain('One short item');
    expect(page.text).toContain('Two');
  });

  it('keeps plain text and Markdown as they came, titled by their first heading or line', () => {
    expect(readPage(fetched('# HBM supply\r\n\r\n\r\n\r\nSK hynix leads.  \n', 'markdown'))).toEqual({
      title: 'HBM supply',
      text: '# HBM supply\n\nSK hynix leads.',
      language: null,
      article: false,
    });
    expect(readPage(fetched('\nMemory prices rose.\nThen fell.', 'text')).title).toBe('Memory prices rose.');
  });
});
