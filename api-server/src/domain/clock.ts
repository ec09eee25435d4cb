// Upstream's DATETIME columns hold whole seconds; a time truncated so keeps responses equal to the rows written.
export function nowSeconds(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}
