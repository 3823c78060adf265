/**
 * Turns the raw bytes of a serial console into the lines a person would read on a terminal.
 *
 * Firmware does not write plain lines: SeaBIOS's serial console and OVMF send ANSI colour and
 * cursor sequences, iPXE erases its "Press Ctrl-B ..." prompt with backspaces and writes the next
 * message over it, GRUB ends lines with "\n" and puts the "\r" in front of the next one. So this
 * keeps one line buffer with a cursor, the way a terminal does: "\r" and a cursor move to column 1
 * go back to the start, backspace steps back, text overwrites, "\n" hands the line over.
 */
import { StringDecoder } from "node:string_decoder";

const ESC = "\u001b";

type EscapeState = "none" | "esc" | "csi" | "charset";

export class ConsoleLines {
  private readonly decoder = new StringDecoder("utf8");
  private cells: string[] = [];
  private cursor = 0;
  private escape: EscapeState = "none";
  private csiParams = "";

  constructor(private readonly emit: (line: string) => void) {}

  /** Bytes as they came from the serial port, in any chunking. */
  write(chunk: Buffer | string): void {
    const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    for (const ch of text) this.take(ch);
  }

  /** The unfinished last line (a prompt), handed over as a line if it holds anything. */
  flush(): void {
    this.write(this.decoder.end());
    const line = this.current();
    this.clear();
    if (line !== "") this.emit(line);
  }

  private take(ch: string): void {
    switch (this.escape) {
      case "esc":
        // ESC [ starts a control sequence; ESC ( and ESC ) pick a character set (one more
        // byte); anything else is a two-byte sequence (ESC c: reset) with nothing to show.
        this.escape = ch === "[" ? "csi" : ch === "(" || ch === ")" ? "charset" : "none";
        this.csiParams = "";
        return;
      case "charset":
        this.escape = "none";
        return;
      case "csi":
        if (ch >= "@" && ch <= "~") {
          this.escape = "none";
          this.controlSequence(ch);
        } else {
          this.csiParams += ch;
        }
        return;
      case "none":
        break;
    }
    if (ch === ESC) {
      this.escape = "esc";
    } else if (ch === "\n") {
      const line = this.current();
      this.clear();
      this.emit(line);
    } else if (ch === "\r") {
      this.cursor = 0;
    } else if (ch === "\b") {
      this.cursor = Math.max(0, this.cursor - 1);
    } else if (ch === "\t") {
      const next = (Math.floor(this.cursor / 8) + 1) * 8;
      while (this.cursor < next) this.put(" ");
    } else if (ch >= " " && ch !== "\u007f") {
      this.put(ch);
    }
    // other control characters (BEL, NUL, ...) show nothing
  }

  private controlSequence(final: string): void {
    switch (final) {
      case "H":
      case "f": {
        // cursor to row;col: only the column matters within one line; a move to column 1 is a
        // carriage return (OVMF rewrites its countdown lines this way)
        const col = Number(this.csiParams.split(";")[1] ?? "1") || 1;
        this.cursor = col - 1;
        return;
      }
      case "G":
        this.cursor = (Number(this.csiParams) || 1) - 1;
        return;
      case "K":
        // erase in line: 0 (default) to the end, 1 to the start, 2 all
        if (this.csiParams === "" || this.csiParams === "0") this.cells.length = Math.min(this.cells.length, this.cursor);
        else if (this.csiParams === "2") this.cells = [];
        else for (let i = 0; i < Math.min(this.cursor, this.cells.length); i++) this.cells[i] = " ";
        return;
      case "J":
        // a screen clear takes the unfinished line with it
        if (this.csiParams === "2") this.clear();
        return;
      default:
        // colours (m), modes (h/l), scrolling regions: nothing to show
        return;
    }
  }

  private put(ch: string): void {
    while (this.cells.length < this.cursor) this.cells.push(" ");
    this.cells[this.cursor] = ch;
    this.cursor += 1;
  }

  private current(): string {
    return this.cells.join("").trimEnd();
  }

  private clear(): void {
    this.cells = [];
    this.cursor = 0;
  }
}
