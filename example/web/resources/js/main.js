// Entry point of the bundle every page links (see web/templates/index.html).
import { titleBadges } from "./badges.js";

titleBadges(document);
