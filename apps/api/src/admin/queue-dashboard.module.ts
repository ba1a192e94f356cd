import { RESEARCH_QUEUE, ResearchModule } from '@app/research';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/** Bull Board over the research queue; the api imports it only when QUEUE_DASHBOARD_ENABLED is true. */
@Module({
  imports: [
    ResearchModule,
    BullBoardModule.forRoot({ route: QUEUE_DASHBOARD_PATH, adapter: BullBoardFastifyAdapter }),
    BullBoardModule.forFeature({ name: RESEARCH_QUEUE, adapter: BullAdapter }),
  ],
})
export class QueueDashboardModule {}
