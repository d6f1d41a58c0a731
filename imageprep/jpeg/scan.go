package jpeg

// block returns the coefficient block (bx, by) of component c, whose rows
// are kept modulo the buffer height when streaming.
func (c *component) block(bx, by int) *[64]int16 {
	i := ((by%c.rows)*c.bw + bx) * 64
	return (*[64]int16)(c.coef[i : i+64])
}

// decodeScan decodes the entropy-coded segment following the SOS header
// just parsed, leaving d.pos at the marker that ends it. When streaming
// (one interleaved sequential scan), each MCU row is reconstructed as soon
// as it is decoded.
func (d *decoder) decodeScan(streaming bool) error {
	s := &d.scan
	for i := 0; i < s.n; i++ {
		c := &d.comps[s.comp[i]]
		if !c.seen {
			if !d.qtSet[c.tq] {
				return corrupt("component %d uses undefined quantisation table %d", c.id, c.tq)
			}
			c.q = d.qt[c.tq]
			c.seen = true
		}
		needDC := !d.progressive || (s.ss == 0 && s.ah == 0)
		needAC := !d.progressive || s.ss > 0
		if needDC && !d.dcT[c.td].defined {
			return corrupt("undefined DC table %d", c.td)
		}
		if needAC && !d.acT[c.ta].defined {
			return corrupt("undefined AC table %d", c.ta)
		}
		c.pred = 0
	}
	// A component reconstructed DC-only (1/8 scale) needs no AC scan: it
	// is skipped without decoding (its end is found by the next marker).
	if d.progressive && s.ss > 0 && d.comps[s.comp[0]].dcOnly {
		d.pos = skipScan(d.data, d.pos)
		return nil
	}
	d.eobrun = 0
	d.br.reset(d.data, d.pos)

	var mcusX, mcusY int
	if s.n == 1 {
		c := &d.comps[s.comp[0]]
		mcusX, mcusY = c.nbw, c.nbh
	} else {
		mcusX, mcusY = d.mcusX, d.mcusY
	}
	// A progressive AC scan can code 32767 empty blocks in a few bits,
	// and a file may have 1000 scans: bound the blocks all scans visit by
	// the input's size, so that a small file declaring a large image
	// cannot buy minutes of CPU. Real photos visit about one block per
	// input byte; a flat one, well under a hundred.
	blocks := 0
	for i := 0; i < s.n; i++ {
		c := &d.comps[s.comp[i]]
		blocks += c.h * c.v
	}
	if s.n == 1 {
		blocks = 1
	}
	d.work += int64(mcusX) * int64(mcusY) * int64(blocks)
	if d.work > 1024*int64(len(d.data))+1<<22 {
		return corrupt("scans visit %d blocks, more than %d bytes of data justify", d.work, len(d.data))
	}
	rst := 0
	left := d.ri
	// zero is libjpeg's insufficient_data: the data of this restart
	// interval ran into a marker, so the rest of it is left with zero
	// blocks. It is cleared by a restart that finds its marker. Zero-
	// filled MCUs cost no input, so their number is bounded by the
	// input's size (a real photo loses a few intervals; a tiny file
	// declaring a huge image must not buy seconds of CPU).
	zero := false
	filled, limit := 0, 8*len(d.data)
	for my := 0; my < mcusY; my++ {
		d.storeRange(my, streaming)
		for mx := 0; mx < mcusX; mx++ {
			if d.ri > 0 {
				if left == 0 {
					kept, err := d.restart(rst)
					if err != nil {
						return err
					}
					// As libjpeg: with the marker kept for later, the
					// interval reads zero bits; its first MCU is decoded
					// from them unless data already ran out.
					zero = zero && kept
					rst = (rst + 1) & 7
					left = d.ri
				}
				left--
			}
			if zero {
				if filled++; filled > limit {
					return corrupt("damage spans more MCUs than the data could code")
				}
				d.zeroMCU(mx, my)
				continue
			}
			if err := d.decodeMCU(mx, my); err != nil {
				return err
			}
			if d.br.overrun() {
				if filled++; filled > limit {
					return corrupt("damage spans more MCUs than the data could code")
				}
				if d.ri == 0 {
					return corrupt("entropy-coded data ends early (MCU %d,%d)", mx, my)
				}
				// A marker inside the interval: this MCU was decoded
				// from zero bits and the rest is lost (libjpeg's
				// "premature end of data segment").
				zero = true
			}
		}
		if streaming {
			d.reconstructTargets(my)
		}
	}
	d.pos = skipEntropy(d.data, d.br.pos)
	return nil
}

// zeroMCU leaves MCU (mx, my) of a lost interval with zero coefficients.
// Progressive scans leave what earlier scans decoded.
func (d *decoder) zeroMCU(mx, my int) {
	if d.progressive {
		return
	}
	s := &d.scan
	if s.n == 1 {
		*d.comps[s.comp[0]].block(mx, my) = [64]int16{}
		return
	}
	for i := 0; i < s.n; i++ {
		c := &d.comps[s.comp[i]]
		for y := 0; y < c.v; y++ {
			for x := 0; x < c.h; x++ {
				*c.block(mx*c.h+x, my*c.v+y) = [64]int16{}
			}
		}
	}
}

// restart finds RSTn after a restart interval (T.81 F.1.2.3), resyncing
// as libjpeg's jpeg_resync_to_restart does when it is not where expected:
// bytes left before a marker (an interval that decoded short) are
// skipped; the next two RST numbers, or a marker that is not RST, mean
// RSTn itself is lost, so the marker stays for later and the coming
// interval reads zero bits (kept true); an earlier RST number or an
// invalid marker is skipped to look further; any other RST is taken for
// RSTn. Only the end of the data is an error.
func (d *decoder) restart(n int) (kept bool, err error) {
	pos := d.br.pos
	for {
		pos = skipEntropy(d.data, pos)
		if pos+1 >= len(d.data) {
			return false, corrupt("missing RST%d marker: data ends", n)
		}
		m := int(d.data[pos+1])
		delta := (m - mRST0 - n) & 7
		switch {
		case m < mSOF0:
			pos += 2
			continue
		case m < mRST0 || m > mRST0+7 || delta == 1 || delta == 2:
			kept = true
			d.br.reset(d.data, pos)
		case delta == 6 || delta == 7:
			pos += 2
			continue
		default:
			d.br.reset(d.data, pos+2)
		}
		break
	}
	for i := 0; i < d.scan.n; i++ {
		d.comps[d.scan.comp[i]].pred = 0
	}
	d.eobrun = 0
	return kept, nil
}

// skipScan returns the position of the first marker after pos that is not
// RSTn: the end of a whole scan.
func skipScan(data []byte, pos int) int {
	for {
		pos = skipEntropy(data, pos)
		if pos+1 >= len(data) || data[pos+1] < mRST0 || data[pos+1] > mRST0+7 {
			return pos
		}
		pos += 2
	}
}

// skipEntropy returns the position of the next marker at or after pos
// (0xFF followed by neither 0x00 nor 0xFF), or len(data).
func skipEntropy(data []byte, pos int) int {
	for pos < len(data) {
		if data[pos] != 0xFF {
			pos++
			continue
		}
		if pos+1 >= len(data) {
			return len(data)
		}
		switch data[pos+1] {
		case 0:
			pos += 2
		case 0xFF:
			pos++
		default:
			return pos
		}
	}
	return len(data)
}

func (d *decoder) decodeMCU(mx, my int) error {
	s := &d.scan
	if s.n == 1 {
		c := &d.comps[s.comp[0]]
		f := &d.full[s.comp[0]]
		return d.decodeBlock(c, c.block(mx, my), mx >= f[0] && mx < f[1])
	}
	for i := 0; i < s.n; i++ {
		c := &d.comps[s.comp[i]]
		f := &d.full[s.comp[i]]
		store := mx >= f[0] && mx < f[1]
		// Block row my*c.v of the buffer, which holds c.rows rows: c.v
		// of them when streaming, so no division per block then.
		row := 0
		if c.rows != c.v {
			row = my * c.v % c.rows
		}
		for y := 0; y < c.v; y++ {
			base := ((row+y)*c.bw + mx*c.h) * 64
			for x := 0; x < c.h; x++ {
				blk := (*[64]int16)(c.coef[base+64*x : base+64*x+64])
				var err error
				if d.progressive {
					err = d.decodeBlock(c, blk, store)
				} else {
					err = d.decodeSequential(c, blk, store)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// decodeBlock decodes one block of the current scan; store false (a
// sequential block no output needs beyond its DC) skips the AC terms.
func (d *decoder) decodeBlock(c *component, blk *[64]int16, store bool) error {
	if !d.progressive {
		return d.decodeSequential(c, blk, store)
	}
	s := &d.scan
	switch {
	case s.ss == 0 && s.ah == 0:
		return d.decodeDCFirst(c, blk)
	case s.ss == 0:
		if d.br.take(1) != 0 {
			blk[0] |= 1 << s.al
		}
		return nil
	case s.ah == 0:
		return d.decodeACFirst(c, blk)
	}
	return d.decodeACRefine(c, blk)
}

func (d *decoder) decodeDC(c *component) (int32, error) {
	br := &d.br
	sz := br.decode(&d.dcT[c.td])
	if sz < 0 || sz > 11 {
		return 0, corrupt("bad DC code")
	}
	c.pred += extend(br.take(uint(sz)), uint(sz))
	return c.pred, nil
}

// decodeSequential is the baseline hot loop. The bit buffer lives in
// locals, and one table read usually yields a coefficient's run, value and
// the bits both took (an end of block included), so the loop has one
// data-dependent branch per coefficient. A run past the block end is not
// an error: as libjpeg does, the value lands on coefficient 63. store
// false decodes the AC codes without storing them.
func (d *decoder) decodeSequential(c *component, blk *[64]int16, store bool) error {
	br := &d.br
	bits, n := br.bits, br.n
	if n < 32 {
		br.ensure8()
		bits, n = br.refill(bits, n)
	}
	if e := d.dcT[c.td].fast[bits>>(64-lutBits)]; e != 0 {
		l := uint(e & 0xFF)
		bits <<= l
		n -= l
		c.pred += e >> 16
	} else {
		br.bits, br.n = bits, n
		if _, err := d.decodeDC(c); err != nil {
			return err
		}
		bits, n = br.bits, br.n
	}
	at := &d.acT[c.ta]
	t := &at.huff
	if !store {
		blk[0] = int16(c.pred)
		for k := 1; k < 64; {
			if n < 32 {
				br.ensure8()
				bits, n = br.refill(bits, n)
			}
			if e := at.skip[bits>>(64-skipBits)]; e != 0 && k+int(e>>4&127) < 64 {
				l := uint(e & 15)
				bits <<= l
				n -= l
				if e&skipEOB != 0 {
					break
				}
				k += int(e >> 4 & 127)
				continue
			}
			if e := t.fast[bits>>(64-lutBits)]; e != 0 {
				l := uint(e & 0xFF)
				bits <<= l
				n -= l
				k += int(e>>8&0xFF) + 1
				continue
			}
			br.bits, br.n = bits, n
			sym := br.decode(t)
			if sym < 0 {
				return corrupt("bad AC code")
			}
			r, sz := sym>>4, uint(sym&15)
			br.take(sz)
			bits, n = br.bits, br.n
			if sz == 0 && r != 15 {
				break
			}
			k += r + 1
		}
		br.bits, br.n = bits, n
		return nil
	}
	// A streaming buffer holds the previous MCU row's coefficients, and
	// sequential blocks are decoded sparsely.
	*blk = [64]int16{}
	blk[0] = int16(c.pred)
	for k := 1; k < 64; {
		if n < 32 {
			br.ensure8()
			bits, n = br.refill(bits, n)
		}
		if e := t.fast[bits>>(64-lutBits)]; e != 0 {
			l := uint(e & 0xFF)
			bits <<= l
			n -= l
			k += int(e >> 8 & 0xFF)
			blk[zz[uint8(k)]] = int16(e >> 16)
			k++
			continue
		}
		br.bits, br.n = bits, n
		sym := br.decode(t)
		if sym < 0 {
			return corrupt("bad AC code")
		}
		r, sz := sym>>4, uint(sym&15)
		v := int16(extend(br.take(sz), sz))
		bits, n = br.bits, br.n
		if sz == 0 && r != 15 {
			break
		}
		k += r
		blk[zz[uint8(k)]] = v
		k++
	}
	br.bits, br.n = bits, n
	return nil
}

func (d *decoder) decodeDCFirst(c *component, blk *[64]int16) error {
	dc, err := d.decodeDC(c)
	if err != nil {
		return err
	}
	blk[0] = int16(dc << d.scan.al)
	return nil
}

func (d *decoder) decodeACFirst(c *component, blk *[64]int16) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	br := &d.br
	t := &d.acT[c.ta].huff
	s := &d.scan
	for k := s.ss; k <= s.se; {
		sym := br.decode(t)
		if sym < 0 {
			return corrupt("bad AC code")
		}
		r, sz := sym>>4, uint(sym&15)
		if sz == 0 {
			if r < 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int(br.take(uint(r)))
				}
				break
			}
			k += 16
			continue
		}
		k += r
		if k > s.se {
			return corrupt("AC run past the spectral band")
		}
		blk[zigzag[k]] = int16(extend(br.take(sz), sz) << s.al)
		k++
	}
	return nil
}

// decodeACRefine is T.81 G.1.2.3: correction bits for coefficients already
// non-zero, and new coefficients of magnitude 1<<Al placed after a run of
// still-zero ones.
func (d *decoder) decodeACRefine(c *component, blk *[64]int16) error {
	br := &d.br
	t := &d.acT[c.ta].huff
	s := &d.scan
	p1 := int16(1) << s.al
	m1 := int16(-1) << s.al
	k := s.ss
	if d.eobrun == 0 {
		for ; k <= s.se; k++ {
			sym := br.decode(t)
			if sym < 0 {
				return corrupt("bad AC code")
			}
			r, sz := sym>>4, sym&15
			var v int16
			if sz != 0 {
				if sz != 1 {
					return corrupt("AC refinement of size %d", sz)
				}
				v = m1
				if br.take(1) != 0 {
					v = p1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(br.take(uint(r)))
				}
				break
			}
			for k <= s.se {
				z := &blk[zigzag[k]]
				if *z != 0 {
					refine(br, z, p1, m1)
				} else {
					r--
					if r < 0 {
						break
					}
				}
				k++
			}
			if v != 0 && k <= s.se {
				blk[zigzag[k]] = v
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= s.se; k++ {
			if z := &blk[zigzag[k]]; *z != 0 {
				refine(br, z, p1, m1)
			}
		}
		d.eobrun--
	}
	return nil
}

func refine(br *bitReader, z *int16, p1, m1 int16) {
	if br.take(1) != 0 && *z&p1 == 0 {
		if *z >= 0 {
			*z += p1
		} else {
			*z += m1
		}
	}
}
