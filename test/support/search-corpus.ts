/**
 * A corpus written for the search tests: Chinese, Japanese, Korean and English articles,
 * some published and some not, with records shaped as the ingest path stores them.
 */
import type { ArticleRecord } from '../../functions/ports';

export interface CorpusDoc {
  id: string;
  title: string;
  excerpt: string;
  tags: string[];
  categories: string[];
  author: string | null;
  body: string;
  status: 'published' | 'draft' | 'failed';
  date: string;
}

const doc = (d: Partial<CorpusDoc> & Pick<CorpusDoc, 'id' | 'title' | 'body'>): CorpusDoc => ({
  excerpt: '',
  tags: [],
  categories: [],
  author: null,
  status: 'published',
  date: '2024-01-01T00:00:00.000Z',
  ...d,
});

export const CORPUS: CorpusDoc[] = [
  doc({
    id: 'zh-putin',
    title: '普京与泽连斯基会谈的可能性',
    excerpt: '克里姆林宫表示，普京愿意在适当的时候与泽连斯基会面。',
    categories: ['国际'],
    tags: ['俄罗斯', '乌克兰'],
    author: '新华社',
    body: '俄罗斯总统普京周三表示，他并不排除与乌克兰总统泽连斯基会谈的可能。双方代表团此前在伊斯坦布尔进行了谈判。',
    date: '2024-03-02T06:50:07.000Z',
  }),
  doc({
    id: 'zh-ai',
    title: '人工智能改变新闻业',
    excerpt: '越来越多的编辑部开始使用人工智能工具。',
    categories: ['科技'],
    tags: ['人工智能', '媒体'],
    author: '李明',
    body: '人工智能正在改变新闻的生产方式。记者们用机器翻译和自动摘要来处理大量信息，但核实事实仍然需要人。',
    date: '2024-02-10T08:00:00.000Z',
  }),
  doc({
    id: 'zh-body-only',
    title: '春季旅行指南',
    excerpt: '去哪里看花。',
    categories: ['生活'],
    body: '京都的樱花很有名。有人在旅途中讨论普京和人工智能，但这篇文章讲的是花。',
    date: '2024-04-01T00:00:00.000Z',
  }),
  doc({
    id: 'zh-draft',
    title: '普京草稿：未发布的会谈记录',
    body: '这是一篇草稿，不能被搜索到。普京与泽连斯基会谈。',
    status: 'draft',
    categories: ['国际'],
  }),
  doc({
    id: 'zh-failed',
    title: '处理失败的文章',
    body: '人工智能失败案例。',
    status: 'failed',
  }),
  doc({
    id: 'ja-sakura',
    title: '東京の桜が満開になりました',
    excerpt: '今年の桜は例年より早く咲きました。',
    categories: ['ニュース'],
    tags: ['さくら', '東京'],
    author: '田中太郎',
    body: '気象庁によると、東京都心でソメイヨシノが満開になりました。カタカナのテキストとひらがなのてきすとも混ざっています。',
    date: '2024-03-25T00:00:00.000Z',
  }),
  doc({
    id: 'ja-ai',
    title: '人工知能と翻訳の未来',
    excerpt: 'ニューラル機械翻訳の進歩について。',
    categories: ['テクノロジー'],
    tags: ['AI'],
    body: '機械翻訳はここ数年で大きく進歩した。しかし人工知能にも限界がある。',
    date: '2023-11-11T00:00:00.000Z',
  }),
  doc({
    id: 'ko-seoul',
    title: '서울의 봄 축제가 시작되었습니다',
    excerpt: '한강 공원에서 벚꽃 축제가 열립니다.',
    categories: ['문화'],
    tags: ['서울', '축제'],
    author: '김민수',
    body: '올해 서울 벚꽃 축제에는 많은 관광객이 방문할 것으로 예상됩니다. 인공지능 안내 로봇도 등장합니다.',
    date: '2024-04-05T00:00:00.000Z',
  }),
  doc({
    id: 'en-harbour',
    title: 'Fog closes the harbour',
    excerpt: 'Ferries stayed in port on Tuesday.',
    categories: ['Local News'],
    tags: ['weather', 'shipping'],
    author: 'Jane Doe',
    body: 'Thick fog closed the harbour for six hours. The café on the pier stayed open, and the harbour master said ferries would resume at noon. Naïve sailors waited.',
    date: '2024-01-15T12:00:00.000Z',
  }),
  doc({
    id: 'en-mixed',
    title: 'Notes from Beijing: 北京的早晨',
    excerpt: 'A bilingual diary.',
    categories: ['Travel'],
    tags: ['diary'],
    body: 'Morning in Beijing. 北京的早晨很安静。 The CAFE was closed; harbour-side walks are elsewhere. Putin was not mentioned in the news: 普京没有出现。',
    date: '2023-12-31T23:59:00.000Z',
  }),
  doc({
    id: 'en-draft',
    title: 'Harbour draft',
    body: 'This harbour article is a draft and must never be found.',
    status: 'draft',
  }),
];

export function corpusRecord(d: CorpusDoc): ArticleRecord {
  return {
    id: d.id,
    slug: d.id,
    title: d.title,
    date: d.date,
    updated: null,
    author: d.author,
    authors: d.author ? [d.author] : [],
    categories: d.categories,
    tags: d.tags,
    excerpt: d.excerpt,
    cover: null,
    wordCount: 1,
    readingMinutes: 1,
    imageCount: 0,
    sourceKey: `${d.id}.md`,
    status: d.status,
    warnings: [],
    error: d.status === 'failed' ? { code: 'processing_failed', message: 'x' } : null,
    processedAt: '2024-05-01T00:00:00.000Z',
    images: [],
    frontMatter: {},
    bodyKey: `bodies/${d.id}.html`,
    sourceEtag: null,
    contentHash: null,
    pipelineVersion: 1,
    sortDate: d.date,
  };
}

/** The body as the pipeline stores it: HTML. */
export const corpusHtml = (d: CorpusDoc) => `<p>${d.body.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p>`;
