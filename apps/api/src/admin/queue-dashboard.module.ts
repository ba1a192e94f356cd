import { AuthModule } from '@app/auth';
import { RESEARCH_QUEUE, ResearchModule } from '@app/research';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';

import { QueueDashboardGuard } from './queue-dashboard.guard';
import { QUEUE_DASHBOARD_PATH } from './queue-dashboard.constants';

export { QUEUE_DASHBOARD_PATH };

/**
 * Bull Board over the research queue, for `admin` keys only; the api imports it only when
 * QUEUE_DASHBOARD_ENABLED is true.
 */
@Module({
  providers: [QueueDashboardGuard],
  imports: [
    AuthModule,
    ResearchModule,
    BullBoardModule.forRoot({ route: QUEUE_DASHBOARD_PATH, adapter: BullBoardFastifyAdapter }),
    BullBoardModule.forFeature({ name: RESEARCH_QUEUE, adapter: BullAdapter }),
  ],
})
export class QueueDashboardModule {}
