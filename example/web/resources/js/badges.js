// Badges come from example-widgets; give each a tooltip with its text.
export function titleBadges(root) {
  for (const el of root.querySelectorAll(".badge")) {
    el.title = el.textContent.trim();
  }
}
