import { describe, expect, it } from "vitest";
import { ConsoleLines } from "../../lab/machine/console-lines";

function linesOf(...chunks: Array<string | Buffer>): string[] {
  const out: string[] = [];
  const c = new ConsoleLines((l) => out.push(l));
  for (const chunk of chunks) c.write(chunk);
  c.flush();
  return out;
}

describe("ConsoleLines", () => {
  it("hands over a line at each newline, without the carriage return", () => {
    expect(linesOf("SeaBIOS (version 1.16.2)\r\n\r\nBooting from ROM...\r\n")).toEqual(["SeaBIOS (version 1.16.2)", "", "Booting from ROM..."]);
  });

  it("takes colours and other control sequences out (SeaBIOS, OVMF)", () => {
    expect(linesOf("\u001bc\u001b[?7l\u001b[2J\u001b[0mSeaBIOS\r\n\u001b[1m\u001b[37m\u001b[40miPXE\u001b[0m -- x\r\n\u001b[=3h\u001b(Bok\n")).toEqual(["SeaBIOS", "iPXE -- x", "ok"]);
  });

  it("lets backspaces erase, as iPXE erases its Ctrl-B prompt and writes the next message over it", () => {
    const prompt = "Press Ctrl-B for the iPXE command line...";
    expect(linesOf(prompt + "\b \b".repeat(prompt.length) + "net0: 52:54:00:12:34:56 (open)\r\n")).toEqual(["net0: 52:54:00:12:34:56 (open)"]);
  });

  it("lets a carriage return overwrite the line from its start", () => {
    expect(linesOf("Press Ctrl-B to configure iPXE...\r" + " ".repeat(40) + "\r\n", "10%\r55%\r100%\n")).toEqual(["", "100%"]);
  });

  it("treats a cursor move to column 1 as a carriage return (OVMF's shell countdown)", () => {
    expect(linesOf("\u001b[05;01HPress ESC in 5 seconds\u001b[05;01HPress ESC in 4 seconds\r\n")).toEqual(["Press ESC in 4 seconds"]);
  });

  it("reads GRUB's \\n then \\r line ends", () => {
    expect(linesOf("Welcome to GRUB!\n\r\n\rsanboot-lab: GRUB running\n\rMARKER\n\r")).toEqual(["Welcome to GRUB!", "", "sanboot-lab: GRUB running", "MARKER"]);
  });

  it("does not care where the chunks split, even inside an escape or a UTF-8 character", () => {
    const bytes = Buffer.from("\u001b[0;36mhttp://ipxe.org\u001b[0m ✓\r\n", "utf8");
    const pieces = [...bytes].map((b) => Buffer.from([b]));
    expect(linesOf(...pieces)).toEqual(["http://ipxe.org ✓"]);
  });

  it("hands over the unfinished last line (a prompt) on flush", () => {
    expect(linesOf("Shell> ")).toEqual(["Shell>"]);
  });
});
