// The vDSO elfuse maps into every guest (AT_SYSINFO_EHDR), as Linux's arch/arm64/kernel/vdso does.
// Linked as a shared object at address 0 (vdso.lds); glibc, musl and Go find the functions by
// name and version LINUX_2.6.39 through its dynamic symbol table.
//
// Only CLOCK_MONOTONIC is answered here, without a syscall, and only when elfuse has set
// vdso_flags bit 0: on the Unicorn backend CNTVCT_EL0 is QEMU's virtual clock, which counts the
// host's CLOCK_MONOTONIC at CNTFRQ_EL0 (62.5 MHz), the same clock elfuse's clock_gettime syscall
// reads. Every other clock, gettimeofday and clock_getres make the syscall, as Linux's vDSO does
// for clocks it does not handle.

	.set	NR_gettimeofday, 169
	.set	NR_clock_gettime, 113
	.set	NR_clock_getres, 114
	.set	CLOCK_MONOTONIC, 1
	.set	NSEC_PER_SEC, 1000000000

	.text
	.balign	16

// int __kernel_clock_gettime(clockid_t clock, struct timespec *ts)
	.globl	__kernel_clock_gettime
	.type	__kernel_clock_gettime, %function
__kernel_clock_gettime:
	.cfi_startproc
	cmp	w0, #CLOCK_MONOTONIC
	b.ne	1f
	adr	x2, vdso_flags
	ldr	w2, [x2]
	tbz	w2, #0, 1f		// the counter is not the host's CLOCK_MONOTONIC
	isb				// no counter read ahead of earlier instructions
	mrs	x2, cntvct_el0
	mrs	x3, cntfrq_el0
	udiv	x4, x2, x3		// whole seconds
	msub	x5, x4, x3, x2		// ticks left over, < CNTFRQ
	movz	x6, #(NSEC_PER_SEC & 0xffff)
	movk	x6, #(NSEC_PER_SEC >> 16), lsl #16
	mul	x5, x5, x6		// < 2^32 * 10^9 < 2^64
	udiv	x5, x5, x3		// nanoseconds
	stp	x4, x5, [x1]
	mov	w0, #0
	ret
1:	mov	x8, #NR_clock_gettime
	svc	#0
	ret
	.cfi_endproc
	.size	__kernel_clock_gettime, . - __kernel_clock_gettime

// int __kernel_gettimeofday(struct timeval *tv, struct timezone *tz)
	.globl	__kernel_gettimeofday
	.type	__kernel_gettimeofday, %function
__kernel_gettimeofday:
	.cfi_startproc
	mov	x8, #NR_gettimeofday
	svc	#0
	ret
	.cfi_endproc
	.size	__kernel_gettimeofday, . - __kernel_gettimeofday

// int __kernel_clock_getres(clockid_t clock, struct timespec *res)
	.globl	__kernel_clock_getres
	.type	__kernel_clock_getres, %function
__kernel_clock_getres:
	.cfi_startproc
	mov	x8, #NR_clock_getres
	svc	#0
	ret
	.cfi_endproc
	.size	__kernel_clock_getres, . - __kernel_clock_getres

// Written by elfuse when it maps the image (runtime/vdso.ts): bit 0, the counter is CLOCK_MONOTONIC.
	.globl	vdso_flags
	.hidden	vdso_flags
	.balign	4
vdso_flags:
	.word	0

	.section .note.GNU-stack, "", %progbits
