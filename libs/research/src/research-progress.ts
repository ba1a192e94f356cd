import { ResearchEventType, RunEventType } from './research-event-type';

/**
 * How far a research has come, as GET /api/v1/research/{id} shows it: the stage it is in, what
 * it has gathered so far, and an estimate in percent that only moves forward. The worker folds
 * each event it records into it, and stores it with the event.
 */
export interface ResearchProgress {
  stage: ProgressStage;
  /** The search-and-read round (LLM engine); 0 before the first search. */
  round: number;
  sources_found: number;
  sources_read: number;
  findings: number;
  /** Report sentences being or having been verified. */
  claims: number;
  percent: number;
}

/** In the order a research goes through them; `awaiting_review` only with `review_plan`. */
export const PROGRESS_STAGES = [
  'queued',
  'planning',
  'awaiting_review',
  'searching',
  'reading',
  'analysing',
  'writing',
  'verifying',
  'done',
] as const;

export type ProgressStage = (typeof PROGRESS_STAGES)[number];

const STAGE_OF: Record<string, ProgressStage> = {
  plan: 'planning',
  search: 'searching',
  read: 'reading',
  gaps: 'analysing',
  write: 'writing',
  verify: 'verifying',
  revise: 'verifying',
  reverify: 'verifying',
};

/** Where the estimate stands at each point: planning, then the rounds share GATHERED, then writing. */
const PLANNED = 8;
const GATHERED = 70;
const WRITTEN = 82;
const VERIFIED = 92;
const REVISED = 97;

export const QUEUED: ResearchProgress = {
  stage: 'queued',
  round: 0,
  sources_found: 0,
  sources_read: 0,
  findings: 0,
  claims: 0,
  percent: 0,
};

export const DONE_PERCENT = 100;

/** Reading progress within the current round, kept between events. */
interface RoundState {
  found: number;
  read: number;
}

/**
 * Folds one event into the progress of a research that may take `depth` rounds. Events it does
 * not know leave it as it is; the percent never goes down.
 */
export class ProgressTracker {
  private round: RoundState = { found: 0, read: 0 };

  constructor(
    private current: ResearchProgress,
    private readonly depth: number,
  ) {}

  get progress(): ResearchProgress {
    return this.current;
  }

  advance(type: string, data: Record<string, unknown>): ResearchProgress {
    const next = { ...this.current };
    const stageName = typeof data.stage === 'string' ? data.stage : '';
    const number = (key: string) => (typeof data[key] === 'number' ? (data[key] as number) : 0);
    const roundWidth = (GATHERED - PLANNED) / Math.max(1, this.depth);
    const roundStart = () => PLANNED + Math.max(0, next.round - 1) * roundWidth;
    let percent = next.percent;

    if (type === ResearchEventType.Started && next.stage === 'queued') {
      next.stage = 'planning';
      percent = Math.max(percent, 1);
    } else if (type === RunEventType.StageStarted) {
      next.stage = STAGE_OF[stageName] ?? next.stage;
      if (stageName === 'search') {
        next.round = number('round') || next.round + 1;
        this.round = { found: 0, read: 0 };
        percent = roundStart();
      } else if (stageName === 'read' && typeof data.sources === 'number') {
        this.round.found = Math.max(this.round.found, number('sources') + number('already_read'));
        this.round.read = number('already_read');
      } else if (stageName === 'read' && typeof data.documents === 'number') {
        // The extractive engine reads its documents at once, with no event per source.
        this.round.found = number('documents');
      } else if (stageName === 'write') {
        percent = GATHERED;
      } else if (stageName === 'verify' || stageName === 'reverify') {
        if (stageName === 'verify') next.claims = number('sentences');
        percent = stageName === 'verify' ? WRITTEN : VERIFIED;
      }
    } else if (type === RunEventType.StageFinished) {
      if (stageName === 'plan') percent = PLANNED;
      if (stageName === 'search') {
        // `sources` from the deep engine, `documents` from the extractive one.
        const found = typeof data.sources === 'number' ? number('sources') : number('documents');
        next.sources_found += found;
        this.round.found = found;
        percent = roundStart() + 0.1 * roundWidth;
      }
      if (stageName === 'read' && typeof data.passages === 'number') {
        next.findings = number('passages');
        next.sources_read += this.round.found;
      }
      if (stageName === 'gaps') percent = roundStart() + roundWidth;
      if (stageName === 'write') {
        percent = WRITTEN;
        if (typeof data.findings === 'number') next.findings = number('findings');
      }
      if (stageName === 'verify') percent = VERIFIED;
      if (stageName === 'revise' || stageName === 'reverify') percent = REVISED;
    } else if (type === RunEventType.SourceRead || type === RunEventType.SourceSkipped) {
      if (type === RunEventType.SourceRead) {
        next.sources_read += 1;
        next.findings += number('findings');
      }
      this.round.read += 1;
      const share = this.round.found > 0 ? Math.min(1, this.round.read / this.round.found) : 0;
      percent = roundStart() + (0.1 + 0.8 * share) * roundWidth;
    } else if (type === RunEventType.RoundsStopped) {
      percent = GATHERED;
    }
    next.percent = Math.min(DONE_PERCENT - 1, Math.max(this.current.percent, Math.round(percent)));
    this.current = next;
    return next;
  }
}

/** The progress of a completed research: everything it gathered, at 100%. */
export function finished(progress: ResearchProgress | null): ResearchProgress {
  return { ...(progress ?? QUEUED), stage: 'done', percent: DONE_PERCENT };
}
