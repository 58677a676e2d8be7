// The 8259A pair, programmed the way a PC kernel's driver does it (ICW1..4 on both chips,
// masks through OCW1, EOIs through OCW2, register reads through OCW3).
import { describe, expect, it } from 'vitest';
import { PicPair } from '../../workers/devices/pic8259';

/** The usual PC remap: master at 0x20, slave at 0x28, slave on IR2, 8086 mode. */
function initPc(pic: PicPair, icw4 = 0x01): void {
  pic.out8(0x20, 0x11); pic.out8(0xa0, 0x11); // ICW1: edge, cascade, ICW4 follows
  pic.out8(0x21, 0x20); pic.out8(0xa1, 0x28); // ICW2: vector bases
  pic.out8(0x21, 0x04); pic.out8(0xa1, 0x02); // ICW3: slave on IR2 / slave ID 2
  pic.out8(0x21, icw4); pic.out8(0xa1, icw4); // ICW4
  pic.out8(0x21, 0x00); pic.out8(0xa1, 0x00); // OCW1: nothing masked
}

const EOI = 0x20;

describe('8259A pair', () => {
  describe('initialisation', () => {
    it('asserts nothing until initialised, then delivers the remapped vector', () => {
      const pic = new PicPair();
      initPc(pic);
      expect(pic.pending()).toBe(false);
      pic.line(0).setLevel(1);
      expect(pic.pending()).toBe(true);
      expect(pic.acknowledge()).toBe(0x20);
      expect(pic.pending()).toBe(false);
    });

    it('ICW1 clears the mask and in-service bits', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.out8(0x21, 0xff);
      expect(pic.in8(0x21)).toBe(0xff);
      pic.line(3).setLevel(1);
      expect(pic.pending()).toBe(false);
      initPc(pic);
      expect(pic.in8(0x21)).toBe(0x00);
    });

    it('does not raise INT in the middle of the ICW sequence', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.line(1).setLevel(1);
      expect(pic.pending()).toBe(true);
      pic.out8(0x20, 0x11); // restart initialisation
      pic.line(1).setLevel(0);
      pic.line(1).setLevel(1);
      expect(pic.pending()).toBe(false);
      pic.out8(0x21, 0x20); pic.out8(0x21, 0x04); pic.out8(0x21, 0x01);
      expect(pic.pending()).toBe(true);
      expect(pic.acknowledge()).toBe(0x21);
    });
  });

  describe('priority and EOI', () => {
    it('grants the lower-numbered IRQ first and holds lower ones until EOI', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.line(3).setLevel(1);
      pic.line(1).setLevel(1);
      expect(pic.acknowledge()).toBe(0x21);
      // IRQ1 is in service: IRQ3 (lower priority) must wait.
      expect(pic.pending()).toBe(false);
      pic.out8(0x20, 0x0b); // OCW3: read ISR
      expect(pic.in8(0x20)).toBe(0b0000_0010);
      pic.out8(0x20, EOI);
      expect(pic.in8(0x20)).toBe(0);
      expect(pic.pending()).toBe(true);
      expect(pic.acknowledge()).toBe(0x23);
    });

    it('lets a higher priority interrupt nest over one in service', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.line(4).setLevel(1);
      expect(pic.acknowledge()).toBe(0x24);
      pic.line(0).setLevel(1);
      expect(pic.pending()).toBe(true);
      expect(pic.acknowledge()).toBe(0x20);
      pic.out8(0x20, 0x0b);
      expect(pic.in8(0x20)).toBe(0b0001_0001);
      pic.out8(0x20, EOI); // non-specific: clears the highest (IRQ0)
      expect(pic.in8(0x20)).toBe(0b0001_0000);
    });

    it('specific EOI clears the named level only', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.line(4).setLevel(1);
      pic.acknowledge();
      pic.line(0).setLevel(1);
      pic.acknowledge();
      pic.out8(0x20, 0x60 | 4); // specific EOI, level 4
      pic.out8(0x20, 0x0b);
      expect(pic.in8(0x20)).toBe(0b0000_0001);
    });

    it('rotates priority with rotate-on-EOI and set-priority', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.out8(0x20, 0xc0 | 4); // set priority: IR4 lowest, so IR5 is highest
      pic.line(1).setLevel(1);
      pic.line(6).setLevel(1);
      expect(pic.acknowledge()).toBe(0x26);
      pic.out8(0x20, 0xa0); // rotate on non-specific EOI: IR6 becomes lowest
      expect(pic.acknowledge()).toBe(0x21);
    });

    it('automatic EOI leaves nothing in service', () => {
      const pic = new PicPair();
      initPc(pic, 0x03); // 8086 mode + AEOI
      pic.line(2 + 3).setLevel(1);
      expect(pic.acknowledge()).toBe(0x25);
      pic.out8(0x20, 0x0b);
      expect(pic.in8(0x20)).toBe(0);
      pic.line(6).setLevel(1);
      expect(pic.acknowledge()).toBe(0x26);
    });
  });

  describe('masking and register reads', () => {
    it('a masked request waits in IRR and is delivered when unmasked', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.out8(0x21, 0b0000_0001);
      pic.line(0).setLevel(1);
      expect(pic.pending()).toBe(false);
      pic.out8(0x20, 0x0a); // OCW3: read IRR
      expect(pic.in8(0x20)).toBe(0b0000_0001);
      pic.out8(0x21, 0);
      expect(pic.pending()).toBe(true);
      expect(pic.acknowledge()).toBe(0x20);
    });

    it('special mask mode lets lower levels through while a higher one is in service', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.line(1).setLevel(1);
      pic.acknowledge();
      pic.line(5).setLevel(1);
      expect(pic.pending()).toBe(false);
      pic.out8(0x21, 0b0000_0010); // mask IR1 ...
      pic.out8(0x20, 0x68); // ... and enter special mask mode
      expect(pic.pending()).toBe(true);
      expect(pic.acknowledge()).toBe(0x25);
    });
  });

  describe('edge triggering and spurious IRQ7', () => {
    it('a line held high requests once; a new rising edge requests again', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.line(0).setLevel(1);
      expect(pic.acknowledge()).toBe(0x20);
      pic.out8(0x20, EOI);
      pic.line(0).setLevel(1); // still high: no edge
      expect(pic.pending()).toBe(false);
      pic.line(0).setLevel(0);
      pic.line(0).setLevel(1);
      expect(pic.pending()).toBe(true);
    });

    it('answers IR7 without setting ISR when the request went away before INTA', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.line(5).setLevel(1);
      expect(pic.pending()).toBe(true);
      pic.line(5).setLevel(0); // dropped before the CPU's INTA
      expect(pic.acknowledge()).toBe(0x27);
      expect(pic.spurious).toBe(1);
      pic.out8(0x20, 0x0b);
      expect(pic.in8(0x20)).toBe(0); // no ISR bit: the handler must not send EOI
    });
  });

  describe('cascade', () => {
    it('delivers a slave IRQ through master IR2 with the slave vector', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.line(12).setLevel(1);
      expect(pic.pending()).toBe(true);
      expect(pic.acknowledge()).toBe(0x2c);
      expect(pic.lastIrq).toBe(12);
      pic.out8(0x20, 0x0b); pic.out8(0xa0, 0x0b);
      expect(pic.in8(0x20)).toBe(0b0000_0100);
      expect(pic.in8(0xa0)).toBe(0b0001_0000);
      // A master IRQ of lower priority than IR2 waits until the master's EOI.
      pic.line(3).setLevel(1);
      expect(pic.pending()).toBe(false);
      pic.out8(0xa0, EOI);
      pic.out8(0x20, EOI);
      expect(pic.acknowledge()).toBe(0x23);
    });

    it('masks slave lines through the slave IMR and the whole slave through master IR2', () => {
      const pic = new PicPair();
      initPc(pic);
      pic.out8(0xa1, 0b0001_0000);
      pic.line(12).setLevel(1);
      expect(pic.pending()).toBe(false);
      pic.out8(0xa1, 0);
      expect(pic.pending()).toBe(true);
      pic.out8(0x21, 0b0000_0100);
      expect(pic.pending()).toBe(false);
      pic.out8(0x21, 0);
      expect(pic.acknowledge()).toBe(0x2c);
    });
  });

  it('snapshots and restores its state', () => {
    const a = new PicPair();
    initPc(a);
    a.out8(0x21, 0x5a);
    a.line(1).setLevel(1);
    a.acknowledge();
    a.line(14).setLevel(1);
    const b = new PicPair();
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.in8(0x21)).toBe(0x5a);
    a.out8(0x20, EOI); b.out8(0x20, EOI);
    expect(b.pending()).toBe(a.pending());
    expect(b.acknowledge()).toBe(a.acknowledge());
    expect(() => b.restore({ kind: 'uart' })).toThrow(/pic/);
  });
});
