import { Project } from "../images/project.js";
import { runTool } from "./verdict.js";

/** Pycroft CI's `ruff check .`, its settings from the source's pyproject.toml. */
export function ruff(format: string) {
  return runTool(["ruff", "check", `--output-format=${format}`, "."]);
}

/** mypy the way the source runs it: its CI script when it has one (Pycroft's scripts/run_mypy.sh), else `mypy`. */
export function mypy(project: Project) {
  return runTool(project.mypyScript ? ["bash", project.mypyScript] : ["mypy"]);
}
