// The port bus: dispatch, unclaimed ports, wide accesses, the port map, the debug ports.
import { describe, expect, it } from 'vitest';
import { PortBus } from '../../workers/devices/iobus';
import { DebugExitPort, PostCodePort } from '../../workers/devices/debugports';
import { PicPair } from '../../workers/devices/pic8259';

describe('port bus', () => {
  it('reads unclaimed ports as all ones and counts them', () => {
    const bus = new PortBus();
    expect(bus.in8(0x1234)).toBe(0xff);
    expect(bus.in16(0x1234)).toBe(0xffff);
    expect(bus.in32(0x1234) >>> 0).toBe(0xffffffff);
    bus.out8(0x99, 1);
    expect(bus.unclaimedReads).toBe(7);
    expect(bus.unclaimedWrites).toBe(1);
    expect(bus.lastUnclaimed).toBe(0x99);
  });

  it('dispatches to devices and lists their ports with labels', () => {
    const bus = new PortBus();
    const pic = new PicPair();
    const post = new PostCodePort();
    bus.attach(pic);
    bus.attach(post);
    bus.out8(0x21, 0xa5);
    expect(bus.in8(0x21)).toBe(0xa5);
    bus.out8(0x80, 0x42);
    bus.out8(0x80, 0x43);
    expect(post.last).toBe(0x43);
    expect(post.history).toEqual([0x42, 0x43]);
    const map = bus.ports();
    expect(map.map((p) => p.port)).toEqual([0x20, 0x21, 0x80, 0xa0, 0xa1]);
    expect(map[2]).toEqual({ port: 0x80, label: 'POST code', device: 'post' });
  });

  it('refuses two devices on one port', () => {
    const bus = new PortBus();
    bus.attach(new PostCodePort());
    expect(() => bus.attach(new PostCodePort())).toThrow(/0x80/);
  });

  it('splits a word access into bytes for a byte-wide device', () => {
    const bus = new PortBus();
    const pic = new PicPair();
    bus.attach(pic);
    bus.out16(0x20, 0x1111); // ICW1 to 0x20, then 0x11 as ICW2 to 0x21
    expect(pic.master.vectorBase).toBe(0x10);
    expect(bus.in16(0xa0) & 0xff00).toBe(0xff00 & (pic.in8(0xa1) << 8));
  });

  it('the debug exit port reports the whole value of a wide write once', () => {
    const bus = new PortBus();
    const codes: number[] = [];
    bus.attach(new DebugExitPort(0x501, (c) => codes.push(c)));
    bus.out8(0x501, 3);
    bus.out16(0x501, 0x1234);
    bus.out32(0x501, 0xdeadbeef);
    expect(codes).toEqual([3, 0x1234, 0xdeadbeef]);
  });
});
