// The test host's people: the groups a test declares, the stakeholders a
// bot adds, the assigned user. The checks follow Baton's: unknown users and
// groups are not-found; assigning someone outside the ticket's assigned
// group, or with no group assigned, is not-allowed.

import { HostError, HostErrorKind } from '../errors.js';
import { Connection, Principal, Role } from '../people.js';

/** @param {Map<string, number[]>} groups */
export function checkKnown(groups, who) {
  const found = who.kind === 'user'
    ? [...groups.values()].some((members) => members.includes(who.userId))
    : groups.has(who.group);
  if (!found) {
    throw new HostError(HostErrorKind.NOT_FOUND, `${who} (declare it with TestHost.group)`);
  }
}

/** Adds a stakeholder row. */
export function addPerson(world, groups, id, who, connection, role) {
  checkKnown(groups, who);
  const rows = world.people.get(id) ?? [];
  rows.push({ who: { kind: who.kind, userId: who.userId, group: who.group }, connection, role, isActive: true });
  world.people.set(id, rows);
}

function release(world, id) {
  for (const row of world.people.get(id) ?? []) {
    if (row.connection === Connection.ASSIGNED) row.isActive = false;
  }
}

/** request-acceptance: the group becomes the assigned stakeholder. */
export function assignGroup(world, groups, id, group) {
  const who = Principal.group(group);
  checkKnown(groups, who);
  release(world, id);
  addPerson(world, groups, id, who, Connection.ASSIGNED, Role.ACTIONER);
}

/** set-assigned-user, and a member's acceptance. */
export function assignUser(world, groups, id, userId) {
  checkKnown(groups, Principal.user(userId));
  const rows = world.people.get(id) ?? [];
  const group = [...rows].reverse().find((r) => r.who.kind === 'group' && r.connection === Connection.ASSIGNED)?.who.group;
  if (group === undefined) {
    throw new HostError(HostErrorKind.NOT_ALLOWED, `ticket ${id} is not assigned to a group`);
  }
  if (!(groups.get(group) ?? []).includes(userId)) {
    throw new HostError(HostErrorKind.NOT_ALLOWED, `user ${userId} is not a member of group ${group}`);
  }
  release(world, id);
  addPerson(world, groups, id, Principal.user(userId), Connection.ASSIGNED, Role.ACTIONER);
}

/** The ticket's active assigned user, or null. */
export function assignedUser(world, id) {
  const rows = world.people.get(id) ?? [];
  const row = [...rows].reverse().find((r) => r.isActive && r.connection === Connection.ASSIGNED && r.who.kind === 'user');
  return row ? row.who.userId : null;
}
