import { Converter } from 'opencc-js';
import type { BudgetKind } from '../deep/budget';

/**
 * What a quote is written in, as far as its script tells: `latin` is a language in Latin letters
 * that does not read as English.
 */
export type QuoteLanguage =
  'english' | 'latin' | 'chinese' | 'simplifiedChinese' | 'traditionalChinese' | 'japanese' | 'korean';

/**
 * The fixed wording of a report. Messages with numbers in them are functions, so a report can
 * never show an unfilled template.
 */
export interface ReportWording {
  findings: string;
  sources: string;
  noEvidence: string;
  openQuote: string;
  closeQuote: string;
  conclusion: string;
  /** Sources were found but none of them holds evidence on the question. */
  noFindings: (sources: number) => string;
  insufficientEvidence: (found: number, required: number) => string;
  /** The writer's draft failed the checks in code; the findings are listed instead. */
  draftRejected: string;
  /** The writer failed for good (errors, time-outs after retries); the findings are listed instead. */
  writerFailed: string;
  /** The verifier failed for good: an unchecked draft is not shown; the findings are listed instead. */
  verifierFailed: string;
  /** Sources the reader failed on for good: left out, and said so. */
  sourcesSkipped: (skipped: number) => string;
  /** Every source read gave replies that could not be used: nothing was found in them. */
  readingFailed: (sources: number) => string;
  partial: (budget: BudgetKind) => string;
  /** What the mark after a sentence the verifier could not confirm means. */
  unverifiedMark: string;
  /** What the mark after a sentence of the writer's own synthesis means. */
  synthesisMark: string;
  /** Verification was turned off for this research. */
  notVerified: string;
  /** The heading over the quotes taken from source `n`, whose title is given ready for Markdown. */
  sourceHeading: (n: number, title: string) => string;
  /**
   * What follows the citation of a quote written in another language or script than the report,
   * with the spacing the report's language puts before it.
   */
  quotedIn: (language: QuoteLanguage) => string;
  /** How the writer is told to write: the language and, for Chinese, the script. */
  instruction: string;
}

const ENGLISH: ReportWording = {
  findings: 'Findings',
  sources: 'Sources',
  noEvidence: 'No source found matches this question, so this report has no findings.',
  openQuote: '“',
  closeQuote: '”',
  conclusion: 'Conclusion',
  noFindings: (sources) =>
    `None of the ${sources} ${sources === 1 ? 'source' : 'sources'} found holds evidence on this question, ` +
    'so this report has no findings.',
  insufficientEvidence: (found, required) =>
    `Only ${found} of the sources found ${found === 1 ? 'holds' : 'hold'} evidence on this question, fewer than ` +
    `the ${required} a report needs. The evidence found is listed below without further analysis.`,
  draftRejected:
    'The written draft did not pass the citation checks, so the evidence found is listed below without further ' +
    'analysis.',
  writerFailed: 'The model could not write the report, so the evidence found is listed below without further analysis.',
  verifierFailed:
    'The written report could not be checked against its sources, so the evidence found is listed below without ' +
    'further analysis.',
  sourcesSkipped: (skipped) =>
    `${skipped} of the sources found could not be read by the model and ${skipped === 1 ? 'is' : 'are'} left out of ` +
    'this report.',
  readingFailed: (sources) =>
    `The model's readings of the ${sources} ${sources === 1 ? 'source' : 'sources'} found could not be used, so ` +
    'this report has no findings.',
  partial: (budget) =>
    `This report is partial: the ${{ tokens: 'token', cost: 'cost', llm_calls: 'LLM call', time: 'time' }[budget]} ` +
    'budget ran out before the research was complete.',
  unverifiedMark: 'The sentence marked so could not be confirmed from the quotes it cites; read its sources.',
  synthesisMark: "The sentence marked so is the writer's synthesis of the findings; no single source states it.",
  notVerified: 'The sentences of this report were not checked against the quotes they cite: verification was off.',
  sourceHeading: (n, title) => `Source ${n}: ${title}`,
  quotedIn: (language) =>
    ` (quoted in ${
      {
        english: 'English',
        latin: 'another language',
        chinese: 'Chinese',
        simplifiedChinese: 'Simplified Chinese',
        traditionalChinese: 'Traditional Chinese',
        japanese: 'Japanese',
        korean: 'Korean',
      }[language]
    })`,
  instruction: 'English',
};

const TRADITIONAL_CHINESE: ReportWording = {
  findings: '研究發現',
  sources: '資料來源',
  noEvidence: '找不到與此問題相關的來源，因此本報告沒有研究發現。',
  openQuote: '「',
  closeQuote: '」',
  conclusion: '結論',
  noFindings: (sources) => `找到的 ${sources} 個來源都不含與此問題相關的證據，因此本報告沒有研究發現。`,
  insufficientEvidence: (found, required) =>
    `找到的來源中只有 ${found} 個含有與此問題相關的證據，少於撰寫報告所需的 ${required} 個。以下僅列出找到的證據，不作進一步分析。`,
  draftRejected: '撰寫的草稿未通過引用檢查，以下僅列出找到的證據，不作進一步分析。',
  writerFailed: '模型無法撰寫報告，以下僅列出找到的證據，不作進一步分析。',
  verifierFailed: '撰寫的報告無法與來源核對，以下僅列出找到的證據，不作進一步分析。',
  sourcesSkipped: (skipped) => `找到的來源中有 ${skipped} 個無法由模型閱讀，未納入本報告。`,
  readingFailed: (sources) => `模型對找到的 ${sources} 個來源的閱讀結果都無法使用，因此本報告沒有研究發現。`,
  partial: (budget) =>
    `本報告不完整：研究完成前已用盡${{ tokens: 'Token', cost: '費用', llm_calls: 'LLM 呼叫次數', time: '時間' }[budget]}預算。`,
  unverifiedMark: '標示此記號的句子無法由其引用的原文證實，請查閱其來源。',
  synthesisMark: '標示此記號的句子是撰寫者對研究發現的綜合判斷，並非任何單一來源的陳述。',
  notVerified: '本報告的句子未與其引用的原文核對：此研究關閉了查核。',
  sourceHeading: (n, title) => `來源 ${n}：${title}`,
  quotedIn: (language) =>
    `（原文為${
      {
        english: '英文',
        latin: '外文',
        chinese: '中文',
        simplifiedChinese: '簡體中文',
        traditionalChinese: '繁體中文',
        japanese: '日文',
        korean: '韓文',
      }[language]
    }）`,
  instruction:
    'Traditional Chinese as written in Taiwan (繁體中文). Use Traditional characters only; never Simplified ' +
    'characters (write 這、們、個、說、為、發、與、國, not 这、们、个、说、为、发、与、国)',
};

const SIMPLIFIED_CHINESE: ReportWording = {
  findings: '研究发现',
  sources: '资料来源',
  noEvidence: '找不到与此问题相关的来源，因此本报告没有研究发现。',
  openQuote: '“',
  closeQuote: '”',
  conclusion: '结论',
  noFindings: (sources) => `找到的 ${sources} 个来源都不含与此问题相关的证据，因此本报告没有研究发现。`,
  insufficientEvidence: (found, required) =>
    `找到的来源中只有 ${found} 个含有与此问题相关的证据，少于撰写报告所需的 ${required} 个。以下仅列出找到的证据，不作进一步分析。`,
  draftRejected: '撰写的草稿未通过引用检查，以下仅列出找到的证据，不作进一步分析。',
  writerFailed: '模型无法撰写报告，以下仅列出找到的证据，不作进一步分析。',
  verifierFailed: '撰写的报告无法与来源核对，以下仅列出找到的证据，不作进一步分析。',
  sourcesSkipped: (skipped) => `找到的来源中有 ${skipped} 个无法由模型阅读，未纳入本报告。`,
  readingFailed: (sources) => `模型对找到的 ${sources} 个来源的阅读结果都无法使用，因此本报告没有研究发现。`,
  partial: (budget) =>
    `本报告不完整：研究完成前已用尽${{ tokens: 'Token', cost: '费用', llm_calls: 'LLM 调用次数', time: '时间' }[budget]}预算。`,
  unverifiedMark: '标示此记号的句子无法由其引用的原文证实，请查阅其来源。',
  synthesisMark: '标示此记号的句子是撰写者对研究发现的综合判断，并非任何单一来源的陈述。',
  notVerified: '本报告的句子未与其引用的原文核对：此研究关闭了核查。',
  sourceHeading: (n, title) => `来源 ${n}：${title}`,
  quotedIn: (language) =>
    `（原文为${
      {
        english: '英文',
        latin: '外文',
        chinese: '中文',
        simplifiedChinese: '简体中文',
        traditionalChinese: '繁体中文',
        japanese: '日文',
        korean: '韩文',
      }[language]
    }）`,
  instruction: 'Simplified Chinese (简体中文)',
};

const JAPANESE: ReportWording = {
  findings: '調査結果',
  sources: '出典',
  noEvidence: 'この質問に関連する出典が見つからないため、この報告書には調査結果がありません。',
  openQuote: '「',
  closeQuote: '」',
  conclusion: '結論',
  noFindings: (sources) =>
    `見つかった ${sources} 件の出典のいずれにもこの質問に関する証拠がないため、この報告書には調査結果がありません。`,
  insufficientEvidence: (found, required) =>
    `見つかった出典のうち、この質問に関する証拠を含むものは ${found} 件で、報告に必要な ${required} 件に足りません。` +
    '見つかった証拠を分析せずに以下に示します。',
  draftRejected: '作成された草稿が引用の検査に通らなかったため、見つかった証拠を分析せずに以下に示します。',
  writerFailed: 'モデルが報告を作成できなかったため、見つかった証拠を分析せずに以下に示します。',
  verifierFailed: '作成された報告を出典と照合できなかったため、見つかった証拠を分析せずに以下に示します。',
  sourcesSkipped: (skipped) =>
    `見つかった出典のうち ${skipped} 件はモデルが読めなかったため、この報告には含まれていません。`,
  readingFailed: (sources) =>
    `見つかった ${sources} 件の出典についてモデルの読み取り結果がいずれも使えなかったため、この報告書には調査結果がありません。`,
  partial: (budget) =>
    `この報告は不完全です：調査が終わる前に${{ tokens: 'トークン', cost: '費用', llm_calls: 'LLM 呼び出し', time: '時間' }[budget]}の予算を使い切りました。`,
  unverifiedMark: 'この記号の付いた文は、引用した原文から確認できませんでした。出典を確認してください。',
  synthesisMark:
    'この記号の付いた文は、調査結果をもとにした執筆者の総合的な判断であり、単一の出典の記述ではありません。',
  notVerified: 'この報告書の文は引用した原文と照合されていません（検証はオフでした）。',
  sourceHeading: (n, title) => `出典 ${n}：${title}`,
  quotedIn: (language) =>
    `（原文は${
      {
        english: '英語',
        latin: '外国語',
        chinese: '中国語',
        simplifiedChinese: '簡体字の中国語',
        traditionalChinese: '繁体字の中国語',
        japanese: '日本語',
        korean: '韓国語',
      }[language]
    }）`,
  instruction: 'Japanese (日本語)',
};

/**
 * The fixed wording of reports in the requested language. Languages without their own table get
 * English headings, and the writer is still told to write in the requested language.
 */
export function reportWording(languageTag: string): ReportWording {
  const locale = new Intl.Locale(languageTag).maximize();
  if (locale.language === 'zh') return locale.script === 'Hant' ? TRADITIONAL_CHINESE : SIMPLIFIED_CHINESE;
  if (locale.language === 'ja') return JAPANESE;
  if (locale.language === 'en') return ENGLISH;
  return { ...ENGLISH, instruction: `${languageName(languageTag)} (BCP-47 tag ${languageTag})` };
}

/** Whether the requested language is Chinese in Traditional script (zh-TW, zh-HK, zh-Hant...). */
export function isTraditionalChinese(languageTag: string): boolean {
  const locale = new Intl.Locale(languageTag).maximize();
  return locale.language === 'zh' && locale.script === 'Hant';
}

const CJK_CHARACTER = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/gu;
const LATIN_WORD = /\p{Script=Latin}{2,}/gu;
const CJK_SCRIPTS = new Set(['Hans', 'Hant', 'Jpan', 'Kore']);

/**
 * Whether a model's prose reads as written in the requested language, judged by its script: a
 * sentence of a Chinese, Japanese or Korean report with no CJK character and several Latin
 * words is in another language, and so is a sentence of a Latin-script report made mostly of
 * CJK characters. Names and figures in another script (H100, 台積電) do not count against a
 * sentence. Languages in other scripts are not judged.
 */
export function inRequestedLanguage(text: string, languageTag: string): boolean {
  const script = new Intl.Locale(languageTag).maximize().script ?? '';
  const cjk = text.match(CJK_CHARACTER)?.length ?? 0;
  const latinWords = text.match(LATIN_WORD)?.length ?? 0;
  if (CJK_SCRIPTS.has(script)) return cjk > 0 || latinWords < 4;
  if (script === 'Latn') return cjk < 10 || cjk <= 3 * latinWords;
  return true;
}

const HAN = /\p{Script=Han}/gu;
const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}]/gu;
const HANGUL = /\p{Script=Hangul}/gu;
/** A Latin letter outside English's alphabet (é, ü, ñ, ø...). */
const ACCENTED_LATIN = /(?![a-zA-Z])\p{Script=Latin}/u;
/** Common English words that other languages in Latin letters do not use as words. */
const ENGLISH_WORD = /\b(?:the|and|that|with|which|were|from|this|these|their|has|have|been|its|are)\b/i;

/**
 * The language or script a quote from a source is written in, when it is not the report's, for a
 * note after the quote; null when the quote reads as the report's language or its script tells
 * nothing. Whether it is another language is judged as for a model's prose (`inRequestedLanguage`);
 * within CJK, kana tell Japanese and Hangul Korean, a long quote in Han characters without kana is
 * Chinese in a Japanese report, and in a Chinese report, Simplified characters in a Traditional one
 * (or the reverse) are another script. Text in Latin letters is taken for
 * English unless it has letters English does not (é, ü, ñ) and none of its commonest words: a
 * quote in Dutch or Indonesian without accents is called English.
 */
export function foreignQuoteLanguage(quote: string, languageTag: string): QuoteLanguage | null {
  const locale = new Intl.Locale(languageTag).maximize();
  const han = quote.match(HAN)?.length ?? 0;
  const kana = quote.match(KANA)?.length ?? 0;
  const hangul = quote.match(HANGUL)?.length ?? 0;
  const writing = writtenIn(quote, han, kana, hangul);
  if (!inRequestedLanguage(quote, languageTag)) return writing;
  if (!CJK_SCRIPTS.has(locale.script ?? '') || han + kana + hangul === 0) return null;
  if (writing === 'japanese') return locale.language === 'ja' ? null : writing;
  if (writing === 'korean') return locale.language === 'ko' ? null : writing;
  if (locale.language === 'ja') return kana === 0 && han >= 10 ? 'chinese' : null;
  if (locale.language !== 'zh') return 'chinese';
  const simplified = simplifiedCharacters(quote).length;
  const traditional = traditionalCharacters(quote);
  if (locale.script === 'Hant') return simplified > traditional ? 'simplifiedChinese' : null;
  return traditional > simplified ? 'traditionalChinese' : null;
}

/** What a text is written in, judged by its letters alone. */
function writtenIn(text: string, han: number, kana: number, hangul: number): QuoteLanguage {
  const cjk = han + kana + hangul;
  if (cjk === 0) return ACCENTED_LATIN.test(text) && !ENGLISH_WORD.test(text) ? 'latin' : 'english';
  if (2 * hangul >= cjk) return 'korean';
  if (kana >= 2 && 5 * kana >= cjk) return 'japanese';
  return 'chinese';
}

/** How many characters of a text OpenCC writes otherwise in Simplified Chinese. */
function traditionalCharacters(text: string): number {
  const simplified = [...converter('t', 'cn')(text)];
  return [...text].filter((char, index) => simplified[index] !== char).length;
}

/** The requested language's English name, for instructions to the model. */
export function languageName(languageTag: string): string {
  return new Intl.DisplayNames(['en'], { type: 'language' }).of(languageTag) ?? languageTag;
}

type Conversion = (text: string) => string;
const conversions = new Map<string, Conversion>();

/** An OpenCC converter; building one loads its dictionaries, so each is built once. */
function converter(from: 'cn' | 't', to: 'twp' | 'hk' | 'cn'): Conversion {
  const key = `${from}-${to}`;
  let conversion = conversions.get(key);
  if (!conversion) {
    conversion = Converter({ from, to });
    conversions.set(key, conversion);
  }
  return conversion;
}

/**
 * A model's prose in the script the requested language is written in. For Chinese in Traditional
 * script, Simplified characters are converted in code with OpenCC (`opencc-js`): to Taiwan's
 * characters and phrases for zh-TW and other Traditional tags (軟件 → 軟體), to Hong Kong's for
 * zh-HK and zh-MO. Other languages are returned unchanged. Quotes from sources are never passed
 * here: they stay as their source wrote them.
 */
export function inRequestedScript(text: string, languageTag: string): string {
  if (!isTraditionalChinese(languageTag)) return text;
  const region = new Intl.Locale(languageTag).maximize().region;
  return converter('cn', region === 'HK' || region === 'MO' ? 'hk' : 'twp')(text);
}

/**
 * Characters that exist only in Simplified Chinese. Their presence in a text meant to be in
 * Traditional Chinese is a wrong script, whatever the model claims.
 */
const SIMPLIFIED_ONLY = new Set(
  '这们个说为对发会时国来过还进动产经济业实现电体机关开问题长与学样应点种报场级书东车万华设计价变总数处门边远认识区节图头务' +
    '专网传统势导层显类须难资给构规视组织较间线质历决选择项单连确证态营销标达响亿战则议论让讲该调览观亲页颜风飞马鱼鸟龙齐乐买' +
    '卖钱铁银错闻陆际随隐鸡纪录异军农两严众优侦储兴内写凤击划刘创剂剧劳协卫厂厅县参双叙叶号叹吗启员呜哑团园围圆圣坏坚坛坝块垄' +
    '垒备复夹夺奋奖妆妇妈娱婴宁宝宠审宪宫宽宾寻寿将尔尘尝属岁岂岛峡币师帐带帮广庆库庙废弃张弥弯弹归当彻径忆忧怀恋恳恶惊惧惩惫' +
    '惭惯愤愿忏扑执扩扫扬扰抚抛抢护担拟拢拥拦拧拨挂挡挣挤挥捞损换掳掷掸揽搀摄摆摇摊撑撵擞攒敌敛斋斓断无旧旷昙昼晋晒晓晕暂术杀' +
    '杂权条杨极枪柜栈栋栏树档桥梦检椭楼横欢欧歼毕毙气汇汉汤沟沥沦沧泼泽洁洒浅浆浇浊测浏浑浓涛涝涡润涨渊渐渔湾湿溃滚满滤滥滨滩' +
    '潇澜灭灯灵灾灿炉炼烁烂烛烟烦烧烫热焕爱爷牵犹狈狮独狭狱猎献环玛玮珑琐璎画畅畴疗疟疮疯瘾皑盏盐监盖盘眯睁矫矿码砖础硕碍礼祸' +
    '离积称稳穷窍窑窜窝窥竞笔笋笼筑筛筹签简箩粮紧纠红纤约纬纯纱纲纳纵纷纸纹纺练细终绍绑结绕绘络绝绞继绩绪续绳维绵绸综绿缀缅缆' +
    '缓编缘缚缝缠缩罗罚罢羡翘耸耻聂联聪肃肠肤肾肿胀胁脏脑脱脸腊腾舆舰舱艰艺芦苍苏苹荐荡荣药莱获萝萤萧萨蓝蔼蕴虏虑虚虽蚀蚁蛮补' +
    '衬袭装见觅觉誉订讨训讯记讶许访评诈诉诊词译试诗诚话诞询详语误请诸读课谁谈谊谋谍谓谜谢谣谦谨谱谴贝贞负贡财责贤败账货贩贪贫' +
    '购贯贴贵贷贸费贺贼赋赌赏赐赔赖赚赛赞赠赵赶趋跃践踊躯轨轩转轮软轰轻载辅辆辈辉辑输辖辞辩迁迈运违迟适逊递逻遗邓邮邻郑酱酿释' +
    '针钓钟钢钥钦钩钻铃铅铜铭铲铺链锁锅锋锐锡锦键锻镇镜闪闭闯闰闲闷闸闹阀阁阅队阳阴阵阶陈陕险隶雏雾霭鞑韦韩顶顺顽顾顿颁颂预领' +
    '颇颈频颓颖颗额飘饥饭饮饰饱饲饼馆驭驰驱驳驶驻驾驿骂骄验骑骗骚骤鲁鲜鸣鸭鸽鹅鹰麦齿龄龟',
);

/** The Simplified-only characters of a text, at most `limit` of them, for an error message. */
export function simplifiedCharacters(text: string, limit = 10): string[] {
  const found = new Set<string>();
  for (const char of text) {
    if (SIMPLIFIED_ONLY.has(char)) found.add(char);
    if (found.size >= limit) break;
  }
  return [...found];
}
