DROP TABLE containment_hooks;
DROP TABLE containment_head;
DROP TABLE containment_policy_runs;
DROP TABLE containments;
