// The EL1 shim for elfuse's hvf backend. The guest program runs at EL0; an EL0 SVC, abort or
// undefined instruction is taken to EL1 at VBAR_EL1 + 0x400 (Arm ARM D1.10.2, "lower EL using
// AArch64, synchronous"), never to the host: Hypervisor.framework only exits on what traps to EL2.
// So this vector table saves the EL0 frame, asks the host with HVC (which does exit: EC 0x16,
// PC already past the HVC), and returns to EL0 with ERET from the frame the host may have edited.
//
// The host reads and writes the frame in guest memory directly (it is identity-mapped slab
// memory), so a syscall needs no register FFI calls at all. Layout (offsets from SP_EL1 after the
// entry's sub): x0..x30 at 8*n, then the fields below. shim/build.ts exports every symbol below
// (labels and .set constants) into shim/shim_bytes.ts, so the TypeScript side never repeats them.
//
// Assembled by shim/build.ts (aarch64-linux-gnu-as + objcopy) into shim/shim_bytes.ts.

        .set FRAME_SIZE,  0x140
        .set F_X30,       0xf0
        .set F_SP_EL0,    0xf8
        .set F_ELR,       0x100
        .set F_SPSR,      0x108
        .set F_ESR,       0x110
        .set F_FAR,       0x118
        .set F_ACTION,    0x120    // host -> shim: what to do before ERET (bits below)
        .set F_TLBI_VA,   0x128    // first page number (VA >> 12) for ACT_TLBI_PAGES
        .set F_TLBI_N,    0x130    // number of pages for ACT_TLBI_PAGES
        .set F_FP_AREA,   0x138    // address of q0..q31 (512 bytes) for ACT_LOAD_FP

        .set ACT_TLBI_ALL,   0     // bit: TLBI VMALLE1IS
        .set ACT_TLBI_PAGES, 1     // bit: TLBI VAE1IS per page
        .set ACT_IC_IALLU,   2     // bit: IC IALLUIS (the host wrote code)
        .set ACT_LOAD_FP,    3     // bit: load q0-q31 from F_FP_AREA (hv_vcpu_set_simd_fp_reg
                                   // passes a vector by value, which Deno FFI cannot do)

        .set HVC_UNEXPECTED, 2     // x0 = vector offset, x1 = ESR, x2 = FAR, x3 = ELR, x4 = SPSR
        .set HVC_BOOT,       4     // the host sets SCTLR_EL1 (MMU on) while the vCPU waits here
        .set HVC_SYSCALL,    5     // EL0 SVC: the frame holds x0-x8; the host writes x0
        .set HVC_EXCEPTION,  11    // other EL0 exception: the frame holds ESR, FAR, ELR

        .text
        .globl shim_base
shim_base:

// An exception elfuse does not expect (EL1 fault, IRQ, FIQ, SError, AArch32): report and stop.
// It clobbers x0-x4, so the host treats it as fatal and never resumes the vCPU.
.macro unexpected offset
        .balign 0x80
        mov     x0, #\offset
        mrs     x1, esr_el1
        mrs     x2, far_el1
        mrs     x3, elr_el1
        mrs     x4, spsr_el1
        hvc     #HVC_UNEXPECTED
        b       .
.endm

        .balign 0x800               // VBAR_EL1 bits 10:0 are RES0
vectors:
        unexpected 0x000            // current EL with SP_EL0: sync
        unexpected 0x080            //   IRQ
        unexpected 0x100            //   FIQ
        unexpected 0x180            //   SError
        unexpected 0x200            // current EL with SP_ELx: sync (a fault in the shim itself)
        unexpected 0x280
        unexpected 0x300
        unexpected 0x380

        .balign 0x80                // 0x400: lower EL, AArch64, synchronous
el0_sync:
        // No register may change before it is saved: the frame is the guest's state.
        sub     sp, sp, #FRAME_SIZE
        stp     x0, x1, [sp, #0x00]
        stp     x2, x3, [sp, #0x10]
        stp     x4, x5, [sp, #0x20]
        stp     x6, x7, [sp, #0x30]
        stp     x8, x9, [sp, #0x40]
        stp     x10, x11, [sp, #0x50]
        stp     x12, x13, [sp, #0x60]
        stp     x14, x15, [sp, #0x70]
        stp     x16, x17, [sp, #0x80]
        stp     x18, x19, [sp, #0x90]
        stp     x20, x21, [sp, #0xa0]
        stp     x22, x23, [sp, #0xb0]
        stp     x24, x25, [sp, #0xc0]
        stp     x26, x27, [sp, #0xd0]
        stp     x28, x29, [sp, #0xe0]
        b       el0_sync_rest

        unexpected 0x480            // lower EL AArch64: IRQ
        unexpected 0x500            //   FIQ
        unexpected 0x580            //   SError
        unexpected 0x600            // lower EL AArch32 (never enabled)
        unexpected 0x680
        unexpected 0x700
        unexpected 0x780

        .balign 0x80                // 0x800: where the vCPU starts (EL1h, MMU off)
shim_start:
        hvc     #HVC_BOOT           // the host turns the MMU on (elfuse: not before the first run)
        isb
        sub     sp, sp, #FRAME_SIZE // the host wrote the first EL0 frame below SP_EL1
        b       restore

        .balign 0x40                // 0x840: resume an EL0 frame the host wrote (host-entered EL1h)
shim_resume:
        sub     sp, sp, #FRAME_SIZE
        b       restore

el0_sync_rest:
        mrs     x0, sp_el0
        stp     x30, x0, [sp, #F_X30]
        // Exception entry overwrote ELR/SPSR; save them before anything else can fault at EL1.
        mrs     x0, elr_el1
        mrs     x1, spsr_el1
        stp     x0, x1, [sp, #F_ELR]
        mrs     x0, esr_el1
        mrs     x1, far_el1
        stp     x0, x1, [sp, #F_ESR]
        lsr     x2, x0, #26
        cmp     x2, #0x15           // EC 0x15: SVC from AArch64
        b.ne    1f
        hvc     #HVC_SYSCALL
        b       restore
1:      hvc     #HVC_EXCEPTION

restore:
        ldr     x0, [sp, #F_ACTION]
        cbz     x0, 3f
        str     xzr, [sp, #F_ACTION]
        dsb     ishst               // the host's descriptor writes before the invalidation
        tbz     x0, #ACT_TLBI_ALL, 1f
        tlbi    vmalle1is
1:      tbz     x0, #ACT_TLBI_PAGES, 2f
        ldp     x1, x2, [sp, #F_TLBI_VA]
        cbz     x2, 2f
4:      tlbi    vae1is, x1
        add     x1, x1, #1
        subs    x2, x2, #1
        b.ne    4b
2:      dsb     ish
        tbz     x0, #ACT_IC_IALLU, 5f
        ic      ialluis
        dsb     ish
5:      isb
        tbz     x0, #ACT_LOAD_FP, 3f
        ldr     x1, [sp, #F_FP_AREA]
        ldp     q0, q1, [x1, #0x000]
        ldp     q2, q3, [x1, #0x020]
        ldp     q4, q5, [x1, #0x040]
        ldp     q6, q7, [x1, #0x060]
        ldp     q8, q9, [x1, #0x080]
        ldp     q10, q11, [x1, #0x0a0]
        ldp     q12, q13, [x1, #0x0c0]
        ldp     q14, q15, [x1, #0x0e0]
        ldp     q16, q17, [x1, #0x100]
        ldp     q18, q19, [x1, #0x120]
        ldp     q20, q21, [x1, #0x140]
        ldp     q22, q23, [x1, #0x160]
        ldp     q24, q25, [x1, #0x180]
        ldp     q26, q27, [x1, #0x1a0]
        ldp     q28, q29, [x1, #0x1c0]
        ldp     q30, q31, [x1, #0x1e0]
3:      ldp     x0, x1, [sp, #F_ELR]
        msr     elr_el1, x0
        msr     spsr_el1, x1
        ldp     x30, x0, [sp, #F_X30]
        msr     sp_el0, x0
        ldp     x0, x1, [sp, #0x00]
        ldp     x2, x3, [sp, #0x10]
        ldp     x4, x5, [sp, #0x20]
        ldp     x6, x7, [sp, #0x30]
        ldp     x8, x9, [sp, #0x40]
        ldp     x10, x11, [sp, #0x50]
        ldp     x12, x13, [sp, #0x60]
        ldp     x14, x15, [sp, #0x70]
        ldp     x16, x17, [sp, #0x80]
        ldp     x18, x19, [sp, #0x90]
        ldp     x20, x21, [sp, #0xa0]
        ldp     x22, x23, [sp, #0xb0]
        ldp     x24, x25, [sp, #0xc0]
        ldp     x26, x27, [sp, #0xd0]
        ldp     x28, x29, [sp, #0xe0]
        add     sp, sp, #FRAME_SIZE
        eret
shim_end:
