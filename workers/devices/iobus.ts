/*
 * The port bus of the PC: 65536 byte-wide I/O ports, each decoded by at most one device.
 * The CPU's IN/OUT land here (through the IoBus interface of x86/bus.ts) and are dispatched
 * by a table indexed by port number. Nobody answers an unclaimed port, so it reads as all
 * ones (the data lines float high) and writes vanish; both are counted, since a guest poking
 * at missing hardware is worth showing. A 16- or 32-bit access to a device without its own
 * wide handlers is split into byte accesses at consecutive ports, low byte first, as the
 * bus does for an 8-bit device. `ports()` lists every claimed port with its register name
 * for the UI's port map. Next: pic8259.ts.
 */

import type { IoBus } from '../x86/bus';
import type { IoDevice, PortLabel } from './device';

export interface PortInfo extends PortLabel {
  device: string;
}

export class PortBus implements IoBus {
  private readonly table: (IoDevice | null)[] = new Array(0x10000).fill(null);
  private readonly devices: IoDevice[] = [];
  /** Accesses to ports no device claims (reads, writes). */
  unclaimedReads = 0;
  unclaimedWrites = 0;
  /** The last unclaimed port touched (-1: none yet). */
  lastUnclaimed = -1;

  /** Plugs a device in at every port its ports() lists. Refuses a port already taken. */
  attach(device: IoDevice): void {
    for (const { port } of device.ports()) {
      if (!(port >= 0 && port <= 0xffff)) throw new RangeError(`${device.name}: port ${port} is outside 0..0xFFFF`);
      const owner = this.table[port];
      if (owner) throw new Error(`port 0x${port.toString(16)} is claimed by both ${owner.name} and ${device.name}`);
    }
    for (const { port } of device.ports()) this.table[port] = device;
    this.devices.push(device);
  }

  /** The device at a port, or null. */
  deviceAt(port: number): IoDevice | null {
    return this.table[port & 0xffff];
  }

  /** Every claimed port with its label and device, sorted by port. */
  ports(): PortInfo[] {
    const out: PortInfo[] = [];
    for (const d of this.devices) for (const p of d.ports()) out.push({ port: p.port, label: p.label, device: d.name });
    return out.sort((a, b) => a.port - b.port);
  }

  in8(port: number): number {
    const d = this.table[port & 0xffff];
    if (d === null) {
      this.unclaimedReads++;
      this.lastUnclaimed = port & 0xffff;
      return 0xff;
    }
    return d.in8(port & 0xffff) & 0xff;
  }

  in16(port: number): number {
    const d = this.table[port & 0xffff];
    if (d !== null && d.in16) return d.in16(port & 0xffff) & 0xffff;
    return this.in8(port) | (this.in8(port + 1) << 8);
  }

  in32(port: number): number {
    const d = this.table[port & 0xffff];
    if (d !== null && d.in32) return d.in32(port & 0xffff) | 0;
    return (this.in16(port) | (this.in16(port + 2) << 16)) | 0;
  }

  out8(port: number, value: number): void {
    const d = this.table[port & 0xffff];
    if (d === null) {
      this.unclaimedWrites++;
      this.lastUnclaimed = port & 0xffff;
      return;
    }
    d.out8(port & 0xffff, value & 0xff);
  }

  out16(port: number, value: number): void {
    const d = this.table[port & 0xffff];
    if (d !== null && d.out16) {
      d.out16(port & 0xffff, value & 0xffff);
      return;
    }
    this.out8(port, value & 0xff);
    this.out8(port + 1, (value >>> 8) & 0xff);
  }

  out32(port: number, value: number): void {
    const d = this.table[port & 0xffff];
    if (d !== null && d.out32) {
      d.out32(port & 0xffff, value >>> 0);
      return;
    }
    this.out16(port, value & 0xffff);
    this.out16(port + 2, (value >>> 16) & 0xffff);
  }
}
