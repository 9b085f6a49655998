// The review state plus the two effects that reach the system: working out the
// plan for the pending changes, and applying it once confirmed.

import { useEffect, useReducer, type Dispatch } from "react";
import { describeError } from "./describe-error.ts";
import { initialState, pendingChanges, reviewReducer, type PendingChange, type ReviewAction, type ReviewPlan, type ReviewReport, type ReviewState, type ViewSize } from "./review-state.ts";

export interface ReviewServices {
  /** The exact file changes for these pending changes, through the overrides service. */
  plan(changes: readonly PendingChange[]): Promise<ReviewPlan>;
}

export function useReview(report: ReviewReport, services: ReviewServices, canApply: boolean, size: ViewSize): [ReviewState, Dispatch<ReviewAction>] {
  const [state, dispatch] = useReducer(reviewReducer, undefined, () => initialState(report, canApply, size));
  const { mode } = state;

  // Once per entry into "planning"; no key but Ctrl-C leaves it, and a plan
  // that comes after that is dropped: by the next entry the marks may differ.
  useEffect(() => {
    if (mode.kind !== "planning") return;
    let wanted = true;
    services.plan(pendingChanges(state)).then(
      (plan) => {
        if (wanted) dispatch({ type: "plan-ready", plan });
      },
      (error: unknown) => {
        if (wanted) dispatch({ type: "plan-failed", error: describeError(error) });
      },
    );
    return () => {
      wanted = false;
    };
  }, [mode]);

  useEffect(() => {
    if (mode.kind !== "applying") return;
    mode.plan.apply().then(
      (outcome) => dispatch({ type: "applied", outcome }),
      (error: unknown) => dispatch({ type: "apply-failed", error: describeError(error) }),
    );
  }, [mode]);

  return [state, dispatch];
}
