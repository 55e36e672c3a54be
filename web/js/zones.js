// Converting between an organisation's wall-clock time and an instant, without a library.

function zoneOffsetMs(instantMs, timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(instantMs));
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

// "2025-05-04T09:30" in `timeZone` -> ISO 8601 instant in UTC ("...Z").
export function wallTimeToIso(local, timeZone) {
  const [day, time] = local.split('T');
  const [year, month, date] = day.split('-').map(Number);
  const [hours, minutes] = time.split(':').map(Number);
  const guess = Date.UTC(year, month - 1, date, hours, minutes);
  let instant = guess - zoneOffsetMs(guess, timeZone);
  // Near a DST change the first offset can be the other side's; one more step settles it.
  instant = guess - zoneOffsetMs(instant, timeZone);
  return new Date(instant).toISOString();
}

// The API's `starts_at_local` ("2025-05-04T09:30:00+02:00") -> a datetime-local value.
export function isoToWallTime(localIso) {
  return localIso.slice(0, 16);
}

// Today's date ("2025-05-04") in `timeZone`, `plusDays` later.
export function todayIn(timeZone, plusDays = 0) {
  const now = Date.now();
  const wall = new Date(now + zoneOffsetMs(now, timeZone));
  wall.setUTCDate(wall.getUTCDate() + plusDays);
  return wall.toISOString().slice(0, 10);
}

// The date ("2025-05-04") an instant falls on in `timeZone`, `plusDays` later.
export function dayIn(iso, timeZone, plusDays = 0) {
  const instant = Date.parse(iso);
  const wall = new Date(instant + zoneOffsetMs(instant, timeZone));
  wall.setUTCDate(wall.getUTCDate() + plusDays);
  return wall.toISOString().slice(0, 10);
}

export function timeZoneOptions() {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const all = zones.includes('UTC') ? zones : ['UTC', ...zones];
  return all.map((zone) => ({ value: zone, label: zone.replace(/_/g, ' ') }));
}
