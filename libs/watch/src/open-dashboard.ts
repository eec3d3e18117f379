import type { DashboardOptions } from './dashboard.js';
import type { Presenter } from './presenters.js';

export type { DashboardOptions };

/** blessed-contrib takes a second to load on a busy machine: only the dashboard pays for it. */
export async function openDashboard(opts: DashboardOptions): Promise<Presenter> {
  const { dashboardPresenter } = await import('./dashboard.js');
  return dashboardPresenter(opts);
}
