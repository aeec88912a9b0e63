// /proc/net/{tcp,tcp6,udp,udp6,unix} (/proc/net is /proc/self/net): the host's tables (the guest
// shares the host's network namespace), less the unix sockets elfuse holds for itself (signal
// listener, fork spares, pid holders), which the guest must not find; the header alone where the
// host has no such file (macOS).
import type { Subject } from "./process_files.ts";

/** The header line of each /proc/net table. */
const netHeaders: Record<string, string> = {
  tcp:
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
  tcp6:
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
  udp:
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
  udp6:
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
  unix: "Num       RefCount Protocol Flags    Type St Inode Path\n",
};

/** Socket inodes of host fds in /proc/self/fd (all of elfuse's, or only `of`). */
function socketInodes(of?: number[]): Set<string> {
  const out = new Set<string>();
  const names = of?.map(String) ?? [...Deno.readDirSync("/proc/self/fd")].map((d) => d.name);
  for (const n of names) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${n}`));
      if (m !== null) out.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

export function netTable(name: string) {
  return ({ k }: Subject): string => {
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/net/${name}`);
    } catch {
      return netHeaders[name];
    }
    if (name !== "unix") return text;
    const guest = socketInodes(k.proc.fds.open().map((fd) => k.proc.fds.get(fd)!.hostFd));
    const hidden = new Set([...socketInodes()].filter((i) => !guest.has(i)));
    return text.split("\n").filter((line, i) => i === 0 || !hidden.has(line.split(/\s+/)[6]))
      .join("\n");
  };
}
