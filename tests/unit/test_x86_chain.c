/*
 * tests/unit/test_x86_chain.c - block chaining and the specialised handlers
 * of cpu/x86/ops_fast.c.
 *
 * Chaining (cpu/x86/block.h "Chaining"): small 64-bit programs that run the
 * same call site many times, so its block is linked to its successor, and
 * then change what that successor must be:
 *   - a CR3 write to page tables that map the callee's linear page to other
 *     bytes (SDM Vol. 3A 4.10.4.1: MOV to CR3 invalidates the TLB entries);
 *   - a PDE rewrite plus INVLPG of the callee's page (Vol. 3A 4.10.4.1);
 *   - a store into the callee's code (self-modifying code, Vol. 3A 8.1.3);
 * the expected register values follow from the architecture (the new code
 * must run), so a stale link would be seen.
 *
 * Specialised handlers: random instances of every specialised form (ALU,
 * TEST, MOV, LEA, MOVZX/MOVSX/MOVSXD, shifts, Jcc/JMP/CALL/RET/PUSH/POP)
 * with random ModRM/SIB/disp, REX bits, FS/GS overrides, RIP-relative
 * operands and register values that point into RAM, across the end of the
 * mapped RAM (#PF), at unmapped and at non-canonical addresses (#GP/#SS),
 * run on two identical vCPUs: one through x86_fast_lookup's handler, the
 * other through the generic handler of x86_exec_table (itself checked
 * against the host CPU by test_alu_diff.c and tests/diff). Registers,
 * RFLAGS, next RIP, the exception (vector, error code, CR2) and the touched
 * memory must agree; the TLBs are warmed first so the fast paths run.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "cpu/x86/block.h"
#include "tests/unit/sys_harness.h"

/* ---------------------------------------------------------------- chaining */

#define CALLEE 0x400000ull      /* linear 4 MiB: PD entry 2 */
#define ALT_PHYS 0x800000ull    /* the other 2 MiB page the callee may map to */
#define PML4_B 0x6000ull        /* second address space: PML4, PDPT, PD */

static const uint8_t callee_a[] = { 0x48, 0x83, 0xc0, 0x01, 0xc3 };   /* add rax, 1 ; ret */
static const uint8_t callee_b[] = { 0x48, 0x83, 0xc3, 0x01, 0xc3 };   /* add rbx, 1 ; ret */

/* A program assembled for H_KCODE. */
struct prog {
    uint8_t code[64];
    size_t n;
};

static void put(struct prog *p, const uint8_t *b, size_t len)
{
    memcpy(p->code + p->n, b, len);
    p->n += len;
}

/* CALL rel32 to @to. */
static void put_call(struct prog *p, uint64_t to)
{
    int32_t rel = (int32_t)(to - (H_KCODE + p->n + 5));
    p->code[p->n++] = 0xe8;
    memcpy(p->code + p->n, &rel, 4);
    p->n += 4;
}

/* DEC @reg32 (ModRM byte @modrm: 0xc9 ECX, 0xce ESI); JNZ rel8 back to offset @to. */
static void put_dec_jnz(struct prog *p, uint8_t modrm, size_t to)
{
    put(p, (const uint8_t[]){ 0xff, modrm, 0x75, (uint8_t)(to - (p->n + 4)) }, 4);
}

/* MOV ECX, @count. */
static void put_mov_ecx(struct prog *p, uint8_t count)
{
    put(p, (const uint8_t[]){ 0xb9, count, 0, 0, 0 }, 5);
}

/* Load @p at H_KCODE and run it with interrupts off: it must end at its final HLT. */
static void run_prog(struct sys_env *e, const struct prog *p)
{
    h_code(e, H_KCODE, p->code, p->n);
    e->cpu->rflags &= ~X86_FLAG_IF;
    cr_assert_eq(h_run(e), VCPU_EXIT_HALT);
    cr_assert_eq(e->cpu->rip, H_KCODE + p->n, "stopped at the final HLT (rip %#lx)",
                 (unsigned long)e->cpu->rip);
}

/*
 * CALLEE mapped to callee_a's page, then (after @sw, @swn bytes) to
 * callee_b's; the program calls it 5 times in each mapping:
 *        mov esi, 2
 * outer: mov ecx, 5
 * inner: call CALLEE
 *        dec ecx
 *        jnz inner
 *        <sw>
 *        dec esi
 *        jnz outer
 *        hlt
 * and each callee must have run 5 times (a stale link would run callee_a 10).
 */
static void run_relink(struct sys_env *e, const uint8_t *sw, size_t swn)
{
    h_code(e, CALLEE, callee_a, sizeof(callee_a));
    h_code(e, ALT_PHYS, callee_b, sizeof(callee_b));
    struct prog p = { .n = 0 };
    put(&p, (const uint8_t[]){ 0xbe, 2, 0, 0, 0 }, 5);
    size_t outer = p.n;
    put_mov_ecx(&p, 5);
    size_t inner = p.n;
    put_call(&p, CALLEE);
    put_dec_jnz(&p, 0xc9, inner);
    put(&p, sw, swn);
    put_dec_jnz(&p, 0xce, outer);
    p.code[p.n++] = 0xf4;
    run_prog(e, &p);
    cr_assert_eq(e->cpu->gpr[X86_RAX], 5, "first mapping's callee ran 5 times (rax %lu)",
                 (unsigned long)e->cpu->gpr[X86_RAX]);
    cr_assert_eq(e->cpu->gpr[X86_RBX], 5, "second mapping's callee ran 5 times (rbx %lu)",
                 (unsigned long)e->cpu->gpr[X86_RBX]);
}

/* A second 4-level hierarchy identical to the harness's but with PD[2] -> ALT_PHYS. */
static void make_space_b(struct sys_env *e)
{
    h_w64(e, PML4_B, (PML4_B + 0x1000) | 7);
    h_w64(e, PML4_B + 0x1000, (PML4_B + 0x2000) | 7);
    for (int i = 0; i < 8; i++)
        h_w64(e, PML4_B + 0x2000 + 8 * i, ((uint64_t)i << 21) | 0x87);
    h_w64(e, PML4_B + 0x2000 + 8 * 2, ALT_PHYS | 0x87);
}

Test(chain, cr3_switch_relinks_call_site)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    make_space_b(&e);
    e.cpu->gpr[X86_RDI] = PML4_B;
    static const uint8_t sw[] = { 0x0f, 0x22, 0xdf };            /* mov cr3, rdi */
    run_relink(&e, sw, sizeof(sw));
    h_fini(&e);
}

Test(chain, invlpg_relinks_call_site)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    e.cpu->gpr[X86_R8] = 0x3000 + 8 * 2;
    e.cpu->gpr[X86_R9] = ALT_PHYS | 0x87;
    e.cpu->gpr[X86_R10] = CALLEE;
    static const uint8_t sw[] = {
        0x4d, 0x89, 0x08,                   /* mov [r8], r9: PD[2] = ALT_PHYS | PS | U | W | P */
        0x41, 0x0f, 0x01, 0x3a,             /* invlpg [r10] (r10 = CALLEE) */
    };
    run_relink(&e, sw, sizeof(sw));
    h_fini(&e);
}

Test(chain, self_modifying_callee_relinks)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* The callee on its own page: add rax, 1 ; ret. */
    const uint64_t callee = H_KCODE + 0x2000;
    h_code(&e, callee, callee_a, sizeof(callee_a));
    /*
     *       mov ecx, 3
     * loop: call callee
     *       mov byte [rdx], 0x10   ; rdx = callee + 3: the immediate of ADD
     *       dec ecx
     *       jnz loop
     *       hlt
     */
    struct prog p = { .n = 0 };
    put_mov_ecx(&p, 3);
    size_t loop = p.n;
    put_call(&p, callee);
    put(&p, (const uint8_t[]){ 0xc6, 0x02, 0x10 }, 3);             /* mov byte [rdx], 0x10 */
    put_dec_jnz(&p, 0xc9, loop);
    p.code[p.n++] = 0xf4;
    e.cpu->gpr[X86_RDX] = callee + 3;
    run_prog(&e, &p);
    /* 1 (original code) + 16 + 16 (the patched immediate). */
    cr_assert_eq(e.cpu->gpr[X86_RAX], 33, "rax %lu", (unsigned long)e.cpu->gpr[X86_RAX]);
    h_fini(&e);
}

Test(chain, self_modifying_loop_body)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /*
     * A loop whose back edge is linked to its head patches its own next
     * iteration from another block on another page (the patch routine):
     *   loop: add rax, XX         (48 83 c0 XX; XX = 1, 0x11, 0x21, 0x31)
     *         call patch          ; patch: add byte [rdx], 0x10 ; ret
     *         dec ecx
     *         jnz loop
     *         hlt
     */
    const uint64_t patch = H_KCODE + 0x3000;
    const uint8_t patch_code[] = { 0x80, 0x02, 0x10, 0xc3 };
    h_code(&e, patch, patch_code, sizeof(patch_code));
    struct prog p = { .n = 0 };
    put_mov_ecx(&p, 4);
    size_t loop = p.n;
    put(&p, (const uint8_t[]){ 0x48, 0x83, 0xc0, 0x01 }, 4);
    put_call(&p, patch);
    put_dec_jnz(&p, 0xc9, loop);
    p.code[p.n++] = 0xf4;
    e.cpu->gpr[X86_RDX] = H_KCODE + loop + 3;
    run_prog(&e, &p);
    cr_assert_eq(e.cpu->gpr[X86_RAX], 1 + 0x11 + 0x21 + 0x31, "rax %lu", (unsigned long)e.cpu->gpr[X86_RAX]);
    h_fini(&e);
}

/* ---------------------------------------------------------------- fast vs generic */

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

#define DATA 0x100000ull
#define RAM_END 0x1000000ull    /* the harness maps 0..16 MiB */

/* A register value: mostly pointing into the data area, sometimes at edges. */
static uint64_t reg_value(void)
{
    switch (rnd() % 12) {
    case 0: return rnd();                                  /* anything: often non-canonical */
    case 1: return RAM_END - 8 + (rnd() % 8);              /* crosses into unmapped RAM */
    case 2: return 0x40000000ull + (rnd() & 0xfff);        /* not present */
    case 3: return rnd() & 7;                              /* a small index */
    case 4: return 0x00007ffffffffff8ull + (rnd() % 16);   /* at the end of the lower half */
    default: return DATA + (rnd() & 0xffff);
    }
}

/* Opcode templates of the specialised forms: map, byte, /digit (or -1), immediate bytes (-1 = Iz). */
struct tmpl {
    uint8_t map, byte;
    int8_t digit;
    int8_t imm;
};
static const struct tmpl tmpls[] = {
    { 0, 0x01, -1, 0 }, { 0, 0x03, -1, 0 }, { 0, 0x09, -1, 0 }, { 0, 0x0b, -1, 0 },
    { 0, 0x21, -1, 0 }, { 0, 0x23, -1, 0 }, { 0, 0x29, -1, 0 }, { 0, 0x2b, -1, 0 },
    { 0, 0x31, -1, 0 }, { 0, 0x33, -1, 0 }, { 0, 0x39, -1, 0 }, { 0, 0x3b, -1, 0 },
    { 0, 0x11, -1, 0 }, { 0, 0x19, -1, 0 },                       /* ADC/SBB stay generic */
    { 0, 0x05, -2, -1 }, { 0, 0x2d, -2, -1 }, { 0, 0x3d, -2, -1 }, { 0, 0x25, -2, -1 },
    { 0, 0xa9, -2, -1 },
    { 0, 0x81, 0, -1 }, { 0, 0x81, 1, -1 }, { 0, 0x81, 4, -1 }, { 0, 0x81, 5, -1 },
    { 0, 0x81, 6, -1 }, { 0, 0x81, 7, -1 }, { 0, 0x83, 0, 1 }, { 0, 0x83, 1, 1 },
    { 0, 0x83, 4, 1 },  { 0, 0x83, 5, 1 },  { 0, 0x83, 6, 1 },  { 0, 0x83, 7, 1 },
    { 0, 0x83, 2, 1 },
    { 0, 0x85, -1, 0 }, { 0, 0xf7, 0, -1 },
    { 0, 0x89, -1, 0 }, { 0, 0x8b, -1, 0 }, { 0, 0xc7, 0, -1 }, { 0, 0x8d, -1, 0 },
    { 0, 0x63, -1, 0 },
    { 0, 0xc1, 4, 1 }, { 0, 0xc1, 5, 1 }, { 0, 0xc1, 7, 1 }, { 0, 0xd1, 4, 0 },
    { 0, 0xd1, 5, 0 }, { 0, 0xd1, 7, 0 }, { 0, 0xc1, 0, 1 }, { 0, 0xc1, 1, 1 },
    { 0, 0xd1, 0, 0 }, { 0, 0xd1, 1, 0 }, { 0, 0xc1, 2, 1 },
    { 1, 0xb6, -1, 0 }, { 1, 0xb7, -1, 0 }, { 1, 0xbe, -1, 0 }, { 1, 0xbf, -1, 0 },
    { 0, 0x69, -1, -1 }, { 0, 0x6b, -1, 1 }, { 1, 0xaf, -1, 0 }, { 1, 0x44, -1, 0 },
    { 1, 0x4c, -1, 0 }, { 1, 0x42, -1, 0 }, { 1, 0x4f, -1, 0 }, { 1, 0x94, -1, 0 },
    { 1, 0x9c, -1, 0 }, { 1, 0x92, -1, 0 }, { 1, 0x9e, -1, 0 }, { 1, 0x97, -1, 0 },
    { 0, 0x70, -3, 1 }, { 1, 0x80, -3, 4 }, { 0, 0xeb, -3, 1 }, { 0, 0xe9, -3, 4 },
    { 0, 0xe8, -3, 4 }, { 0, 0xc3, -3, 0 }, { 0, 0x50, -3, 0 }, { 0, 0x58, -3, 0 },
};

/* Build one random instruction from @t into @b; returns its length. */
static unsigned build(const struct tmpl *t, uint8_t *b)
{
    unsigned n = 0;
    unsigned r = rnd() % 8;
    if (r == 0)
        b[n++] = 0x64;                              /* FS */
    else if (r == 1)
        b[n++] = 0x65;                              /* GS */
    else if (r == 2)
        b[n++] = 0x66;                              /* 16-bit operands: generic */
    if (rnd() % 8 == 0)
        b[n++] = 0x67;                              /* 32-bit addresses: generic */
    uint8_t rex = 0x40 | (uint8_t)(rnd() & 0xf);
    if (rnd() % 4)
        b[n++] = rex;
    if (t->map == 1)
        b[n++] = 0x0f;
    uint8_t op = t->byte;
    if (t->digit == -3 && (op == 0x70 || op == 0x80 || op == 0x50 || op == 0x58))
        op = (uint8_t)(op + (rnd() & (op == 0x50 || op == 0x58 ? 7 : 15)));
    b[n++] = op;
    if (t->digit >= -1) {
        uint8_t mod = (uint8_t)(rnd() % 4), rm = (uint8_t)(rnd() % 8);
        uint8_t reg = t->digit >= 0 ? (uint8_t)t->digit : (uint8_t)(rnd() % 8);
        if (op == 0x8d && mod == 3)
            mod = (uint8_t)(rnd() % 3);
        b[n++] = (uint8_t)(mod << 6 | reg << 3 | rm);
        if (mod != 3 && rm == 4)
            b[n++] = (uint8_t)rnd();                /* SIB */
        if (mod == 1) {
            b[n++] = (uint8_t)rnd();
        } else if (mod == 2 || (mod == 0 && (rm == 5 || (rm == 4 && (b[n - 1] & 7) == 5)))) {
            int32_t d = (int32_t)(rnd() % 0x1000) - 0x800;
            memcpy(b + n, &d, 4);
            n += 4;
        }
    }
    int imm = t->imm;
    if (imm == -1)                                  /* Iz: 2 bytes with 66, else 4 */
        imm = memchr(b, 0x66, n) ? 2 : 4;
    for (int i = 0; i < imm; i++)
        b[n++] = (uint8_t)rnd();
    return n;
}

struct side {
    struct sys_env e;
    int vec;
    uint32_t err;
};

static void warm(struct x86_cpu *cpu, void *arg)
{
    (void)arg;
    /* Read and rewrite every data-area page and the last RAM page: TLB read
     * and write tags (dirty bits set) for the fast paths. */
    for (uint64_t p = DATA; p < DATA + 0x20000; p += GUEST_PAGE_SIZE)
        x86_write8(cpu, p, x86_read8(cpu, p));
    x86_write8(cpu, RAM_END - 1, x86_read8(cpu, RAM_END - 1));
}

struct run_arg {
    x86_exec_fn fn;
    const struct x86_insn *insn;
};

static void run_one(struct x86_cpu *cpu, void *arg)
{
    struct run_arg *a = arg;
    a->fn(cpu, a->insn);
}

Test(chain, fast_handlers_match_generic)
{
    static struct side s[2];
    for (int k = 0; k < 2; k++) {
        h_init_long(&s[k].e, X86_CPU_QEMU64);
        s[k].e.cpu->rflags &= ~X86_FLAG_IF;
        h_try(s[k].e.cpu, warm, NULL, NULL);
    }
    unsigned cases = 0, fast = 0, faults = 0, mem_forms = 0;
    for (unsigned iter = 0; iter < 60000; iter++) {
        const struct tmpl *t = &tmpls[rnd() % (sizeof(tmpls) / sizeof(tmpls[0]))];
        uint8_t bytes[16];
        unsigned len = build(t, bytes);
        struct x86_insn insn;
        if (x86_decode(bytes, len, X86_MODE_64, &insn) < 0)
            continue;
        x86_exec_fn ffn = x86_fast_lookup(&insn, X86_MODE_64);
        x86_exec_fn gfn = x86_exec_lookup(&insn);
        cases++;
        fast += ffn != gfn;
        mem_forms += (ffn != gfn) && (insn.flags & X86_INSN_MEM);

        uint64_t gpr[16], fsb = DATA + (rnd() & 0xfff), gsb = reg_value();
        for (int i = 0; i < 16; i++)
            gpr[i] = reg_value();
        uint64_t rip = (rnd() % 4) ? H_KCODE + (rnd() & 0xfff) : 0x00007ffffffffff0ull;
        struct x86_cc cc = { 0 };
        static const uint8_t ops[] = { CC_OP_SUB, CC_OP_LOGIC, CC_OP_ADD, CC_OP_EFLAGS, CC_OP_INC,
                                       CC_OP_SHL, CC_OP_SAR };
        static const uint8_t sizes[] = { 1, 2, 4, 8 };
        cc.op = ops[rnd() % sizeof(ops)];
        cc.size = sizes[rnd() % 4];
        uint64_t m = x86_size_mask(cc.size);
        cc.src1 = (rnd() % 3 ? rnd() : rnd() % 3) & m;
        cc.src2 = (rnd() % 3 ? rnd() : cc.src1) & m;
        cc.res = cc.op == CC_OP_SUB ? (cc.src1 - cc.src2) & m
               : cc.op == CC_OP_EFLAGS ? (cc.src1 &= X86_FLAGS_ARITH, 0) : rnd() & m;
        cc.aux = rnd() & 1;

        gva_t ea_lin = RAM_END;   /* the memory operand's address, if in RAM: compared below */
        for (int k = 0; k < 2; k++) {
            struct x86_cpu *cpu = s[k].e.cpu;
            memcpy(cpu->gpr, gpr, sizeof(gpr));
            cpu->seg[X86_FS].base = fsb;
            cpu->seg[X86_GS].base = gsb;
            cpu->cc = cc;
            cpu->rip = rip;
            cpu->next_rip = rip + insn.len;
            cpu->cr2 = 0;
            if (k == 0 && (insn.flags & X86_INSN_MEM)) {
                ea_lin = x86_ea(cpu, &insn);
                if (insn.seg == X86_FS || insn.seg == X86_GS)
                    ea_lin += cpu->seg[insn.seg].base;
            }
            struct run_arg a = { k ? gfn : ffn, &insn };
            s[k].vec = h_try(cpu, run_one, &a, &s[k].err);
        }
        struct x86_cpu *f = s[0].e.cpu, *g = s[1].e.cpu;
        char what[160];
        snprintf(what, sizeof(what), "case %u: bytes %02x %02x %02x %02x %02x %02x %02x %02x len %u",
                 iter, bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6],
                 bytes[7], len);
        cr_assert_eq(s[0].vec, s[1].vec, "%s: exception fast %d generic %d", what, s[0].vec, s[1].vec);
        if (s[0].vec >= 0) {
            faults++;
            cr_assert_eq(s[0].err, s[1].err, "%s: error code", what);
            cr_assert_eq(f->cr2, g->cr2, "%s: CR2", what);
        } else {
            cr_assert_eq(f->next_rip, g->next_rip, "%s: next rip %#lx vs %#lx", what,
                         (unsigned long)f->next_rip, (unsigned long)g->next_rip);
            cr_assert_eq(x86_get_rflags(f), x86_get_rflags(g), "%s: rflags %#lx vs %#lx", what,
                         (unsigned long)x86_get_rflags(f), (unsigned long)x86_get_rflags(g));
            for (int c = 0; c < 16; c++)
                cr_assert_eq(x86_cond(f, c), x86_cond(g, c), "%s: condition %d", what, c);
        }
        for (int i = 0; i < 16; i++)
            cr_assert_eq(f->gpr[i], g->gpr[i], "%s: gpr %d %#lx vs %#lx", what, i,
                         (unsigned long)f->gpr[i], (unsigned long)g->gpr[i]);
        /* Touched memory: the data area and the stack slots around RSP. */
        uint8_t *fm = gpa_map(&s[0].e.mem, DATA, 0x20000), *gm = gpa_map(&s[1].e.mem, DATA, 0x20000);
        cr_assert(fm && gm);
        cr_assert_eq(memcmp(fm, gm, 0x20000), 0, "%s: data area differs", what);
        uint8_t *fe = gpa_map(&s[0].e.mem, RAM_END - 16, 16), *ge = gpa_map(&s[1].e.mem, RAM_END - 16, 16);
        cr_assert_eq(memcmp(fe, ge, 16), 0, "%s: end of RAM differs", what);
        if (ea_lin < RAM_END - 16) {
            uint8_t *fa = gpa_map(&s[0].e.mem, ea_lin, 16), *ga = gpa_map(&s[1].e.mem, ea_lin, 16);
            cr_assert_eq(memcmp(fa, ga, 16), 0, "%s: memory at %#lx differs", what,
                         (unsigned long)ea_lin);
        }
        for (int k = 0; k < 2; k++)   /* keep the TLBs warm after faults and CR2 writes */
            h_try(s[k].e.cpu, warm, NULL, NULL);
    }
    cr_log_info("%u cases, %u through specialised handlers (%u with memory operands), %u faults",
                cases, fast, mem_forms, faults);
    cr_assert_gt(fast, cases / 2, "most cases use a specialised handler (%u of %u)", fast, cases);
    cr_assert_gt(mem_forms, cases / 5, "memory forms covered (%u)", mem_forms);
    cr_assert_gt(faults, 100, "faulting cases covered (%u)", faults);
    for (int k = 0; k < 2; k++)
        h_fini(&s[k].e);
}
