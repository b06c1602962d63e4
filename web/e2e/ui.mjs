// Browser test of exechunt's web UI in the system's headless Chromium, driven by
// playwright-core (which never downloads a browser). Started by
// `go test ./cmd/exechunt -run TestWebUIBrowser`, which runs a real `exechunt serve`
// with simulated agents and passes, in the environment:
//
//   EXECHUNT_URL        https://127.0.0.1:PORT
//   EXECHUNT_TOKEN      an admin API token
//   EXECHUNT_TREE_HOST  id of a host whose process_lineage has suspicious processes
//   EXECHUNT_SCRIPT_HOST id of a host with PowerShell script blocks
//   EXECHUNT_HOSTS      how many hosts enrolled
//   SCREENSHOTS         folder for the screenshots
//   CHROMIUM            the browser (default /usr/bin/chromium)
//
// It prints one line per step and exits non-zero on the first failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const env = (k, d) => process.env[k] || d;
const base = env("EXECHUNT_URL");
const token = env("EXECHUNT_TOKEN");
const treeHost = env("EXECHUNT_TREE_HOST");
const scriptHost = env("EXECHUNT_SCRIPT_HOST");
const hostCount = parseInt(env("EXECHUNT_HOSTS", "0"), 10);
const shots = env("SCREENSHOTS", "screenshots");
mkdirSync(shots, { recursive: true });

function check(cond, msg) {
  if (!cond) throw new Error("check failed: " + msg);
}

// checkOverviewLayout: no card's content spills out of it, and the cards use the
// width of the page (a quarter of it was once left empty).
async function checkOverviewLayout() {
  const m = await page.evaluate(() => {
    const main = document.querySelector("main .overview").getBoundingClientRect();
    const cards = [...document.querySelectorAll("main .overview > .card")];
    const spill = cards.filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.querySelector("h2").textContent);
    const right = Math.max(...cards.map((c) => c.getBoundingClientRect().right));
    return { spill, unused: main.right - right, width: main.width };
  });
  check(m.spill.length === 0, "overview cards spill out: " + m.spill.join(", "));
  check(m.unused <= 2, `the overview leaves ${m.unused}px of ${m.width}px unused on the right`);
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  // The flags that work on these machines: no sandbox as root, and no
  // background connections (the network is closed).
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
const problems = [];
let failed = false;
let page;
try {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  page = await ctx.newPage();
  page.setDefaultTimeout(60000);
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("requestfailed", (r) => { if (!r.url().includes("/events")) problems.push("request failed: " + r.url()); });
  const shot = async (name) => {
    await page.screenshot({ path: join(shots, name + ".png"), fullPage: true });
    console.log("screenshot " + name);
  };

  // 1. Any page sends an anonymous visitor to the login page.
  await page.goto(base + "/ui/hosts");
  check(page.url().includes("/ui/login"), "not redirected to login: " + page.url());
  await shot("01-login");
  await page.getByLabel("API token").fill("not-a-token");
  await page.getByRole("button", { name: "Log in" }).click();
  check(await page.getByRole("alert").textContent().then((t) => t.includes("not valid")), "a bad token is not refused");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/ui\/hosts$/);
  console.log("logged in");

  // 2. Hosts, then the overview.
  const hostRows = await page.locator("main table tbody tr").count();
  check(hostRows === hostCount, `hosts page lists ${hostRows} hosts, want ${hostCount}`);
  await shot("02-hosts");
  await page.getByRole("link", { name: "Overview" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  check((await page.locator("main").textContent()).includes("windows"), "overview has no windows hosts");
  await checkOverviewLayout();
  await shot("03-overview");

  // 3. Live query console: completion, run, rows streaming in, per-host progress.
  await page.getByRole("link", { name: "Live query" }).click();
  const sql = page.locator("#sql");
  await sql.fill("");
  await sql.pressSequentially("SELECT name FROM process_lin");
  await page.locator("#sql-suggest li", { hasText: "process_lineage" }).first().waitFor();
  await sql.press("Tab");
  check((await sql.inputValue()).endsWith("FROM process_lineage"), "completion did not insert the table: " + (await sql.inputValue()));
  await sql.pressSequentially(" WHERE sco");
  await page.locator("#sql-suggest li", { hasText: "score" }).first().waitFor();
  await sql.press("Enter");
  check((await sql.inputValue()).endsWith("WHERE score"), "completion did not insert the column: " + (await sql.inputValue()));
  await sql.fill("SELECT name, parent_name, cmdline, indicators, score FROM process_creation_events WHERE score >= 50 LIMIT 5");
  await page.getByLabel(/All hosts/).check();
  await page.getByRole("button", { name: "Run" }).click();
  await page.locator("#results tbody tr").first().waitFor();
  await page.locator("#status", { hasText: "done" }).waitFor();
  const rows = await page.locator("#results tbody tr").count();
  const hostsDone = await page.locator("#host-progress li").count();
  check(rows > 0, "no rows arrived");
  check(hostsDone === hostCount, `per-host progress for ${hostsDone} hosts, want ${hostCount}`);
  check(await page.locator("#export-csv").isVisible(), "no CSV export link");
  const header = await page.locator("#results thead th").allTextContents();
  check(header.join(",") === "host,name,parent_name,cmdline,indicators,score", "columns not in SELECT order: " + header);
  console.log(`console: ${rows} rows from ${hostsDone} hosts`);
  await shot("04-console");
  const dl = page.waitForEvent("download");
  await page.locator("#export-csv").click();
  const csvPath = join(shots, "export.csv");
  await (await dl).saveAs(csvPath);
  console.log("exported " + csvPath);

  // 4. Process tree of a host with suspicious processes.
  await page.goto(base + "/ui/hosts/" + treeHost + "/tree");
  await page.getByRole("button", { name: "Run process_lineage now" }).click();
  await page.locator("ul.tree").waitFor(); // the page reloads itself when the host answers
  const sus = await page.locator("ul.tree li.suspicious").count();
  check(sus > 0, "no suspicious node highlighted");
  const detail = await page.locator("ul.tree li.suspicious aside.detail").first().textContent();
  check(/score \d+/.test(detail), "no score beside the suspicious node: " + detail);
  check((await page.locator("ul.tree li.suspicious .tags li").count()) > 0, "no indicators beside the suspicious node");
  console.log(`process tree: ${sus} suspicious nodes`);
  await shot("05-process-tree");
  await page.getByRole("link", { name: "Show the whole tree" }).click();
  await page.locator("ul.tree").waitFor();
  await shot("06-process-tree-whole");

  // 5. Script viewer.
  await page.goto(base + "/ui/hosts/" + scriptHost + "/scripts");
  await page.getByRole("button", { name: "List script blocks" }).click();
  await page.locator("main table tbody tr a").first().waitFor();
  // Each script block id stays on one line (it once wrapped onto 3–4, a 5,000 px page).
  const idHeights = await page.locator("main table tbody tr td:nth-child(3) a").evaluateAll((as) =>
    as.map((a) => a.getBoundingClientRect().height / parseFloat(getComputedStyle(a).lineHeight || "20")));
  check(idHeights.every((h) => h < 1.5), "a script block id wraps: " + idHeights.map((h) => h.toFixed(1)).join(", ") + " lines");
  await shot("07-scripts");
  await page.locator("main table tbody tr a").first().click();
  await page.getByRole("heading", { name: "Layers" }).waitFor();
  check((await page.locator(".tags li").count()) > 0, "no indicators on the script page");
  await shot("08-script");

  // 6. Hunts: run a hunt now from the UI; its rows are stacked into anomalies; suppress
  // one with a reason and see it move out of the open list. Without EXECHUNT_HUNT the
  // pages are only opened.
  const hunt = env("EXECHUNT_HUNT", "");
  await page.getByRole("link", { name: "Hunts", exact: true }).click();
  await page.getByRole("heading", { name: "Hunts", exact: true }).waitFor();
  await shot("10-hunts");
  if (hunt) {
    await page.getByRole("button", { name: "Run " + hunt + " now" }).click();
    await page.getByRole("heading", { name: "Hunt " + hunt }).waitFor();
    let rows = 0;
    for (let i = 0; i < 120 && rows === 0; i++) {
      await page.goto(base + "/ui/anomalies?state=open");
      rows = await page.locator("main table tbody tr a").count();
      if (rows === 0) await page.waitForTimeout(500);
    }
    check(rows > 0, "no open anomalies 60 s after running hunt " + hunt);
    await shot("09-anomalies");
    // The overview's "Highest ranked" names processes (stack values), not queries.
    await page.goto(base + "/ui/");
    const topText = await page.locator("ol.top li a").first().textContent();
    check(topText.includes("→") || topText.includes("="), "Highest ranked lists " + topText + ", not a stack");
    await checkOverviewLayout();
    await shot("10-overview-anomalies");
    await page.goto(base + "/ui/anomalies?state=open");
    await page.locator("main table tbody tr a").first().click();
    await page.getByRole("heading", { name: "Triage" }).waitFor();
    // Command lines are shown whole: wrapped, never cut.
    const cut = await page.locator("pre.cmdline").evaluateAll((ps) => ps.filter((p) => p.scrollWidth > p.clientWidth + 1).length);
    check((await page.locator("pre.cmdline").count()) > 0, "the anomaly page shows no command line");
    check(cut === 0, cut + " command lines are cut on the anomaly page");
    await shot("10-anomaly");
    const title = await page.locator("h1").textContent();
    await page.getByLabel("Suppress because").fill("browser test: known admin tooling");
    await page.getByRole("button", { name: "Suppress" }).click();
    await page.locator("span.state", { hasText: "suppressed" }).first().waitFor();
    check((await page.locator("main").textContent()).includes("browser test: known admin tooling"), "the suppression reason is not shown");
    await shot("12-anomaly-suppressed");
    await page.goto(base + "/ui/anomalies?state=open");
    const open = await page.locator("main table tbody tr a").allTextContents();
    const id = title.match(/Anomaly ([0-9a-z]+)/)[1];
    check(!(await page.locator(`main table tbody tr a[href="/ui/anomalies/${id}"]`).count()), "the suppressed anomaly is still listed as open");
    console.log("suppressed anomaly " + id + "; " + open.length + " open anomalies left");
  } else {
    await page.getByRole("link", { name: "Anomalies", exact: true }).click();
    await page.getByRole("heading", { name: "Anomalies", exact: true }).waitFor();
    await shot("09-anomalies");
  }

  // 7. A narrow window stays readable (no horizontal scroll of the page).
  await page.setViewportSize({ width: 400, height: 800 });
  await page.goto(base + "/ui/console");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 1, "the console scrolls sideways in a narrow window by " + overflow + "px");
  await shot("11-console-narrow");

  // 8. Keyboard: the skip link is the first stop.
  await page.keyboard.press("Tab");
  check((await page.evaluate(() => document.activeElement.textContent)).includes("Skip to content"), "first Tab stop is not the skip link");

  const csp = problems.filter((p) => /Content Security Policy|Refused to/i.test(p));
  check(csp.length === 0, "CSP violations:\n" + csp.join("\n"));
  if (problems.length) console.log("notes:\n" + problems.join("\n"));
  console.log("PASS");
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
  if (page) await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
  if (problems.length) console.error("browser said:\n" + problems.join("\n"));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
