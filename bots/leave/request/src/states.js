// The state codes of the leave metaservice's `request` type, as in
// leave.metaservice.toml.

export const OPEN = 1;
export const WITH_MANAGER = 2;
export const APPROVED = 3;
export const REFUSED = 4;
