// One lane of ShiftExp (spec: shift.shift_exp), latency QB + 2 enabled stages:
//   p = u + (u>>1) - (u>>4), clamped at -N*I0;  q = (-p) // I0 by QB restoring steps
//   (-p is non-negative, so this is the floor division);  r = p + q*I0 = -rem;
//   v = I0 + (r >> 1);  out = v << (N - q).
// Requires N < 2^QB. SB_W bits of sideband travel with the value.
module ivit_shiftexp_lane #(
    parameter int IN_W  = 24,
    parameter int I0_W  = 12,
    parameter int QB    = 5,
    parameter int OUT_W = 40,
    parameter int SB_W  = 1
) (
    input  logic                   clk,
    input  logic                   en,
    input  logic        [I0_W-1:0] i0,
    input  logic        [QB-1:0]   n,
    input  logic signed [IN_W-1:0] u,      // u <= 0
    input  logic        [SB_W-1:0] sb_in,
    output logic        [OUT_W-1:0] e,
    output logic        [SB_W-1:0] sb_out
);
    localparam int A_W = I0_W + QB;            // holds -p after the clamp (<= N*I0)
    logic signed [IN_W+1:0] p;
    logic        [A_W-1:0]  lim;
    logic        [A_W-1:0]  a   [QB+1];
    logic        [QB-1:0]   q   [QB+1];
    logic        [SB_W-1:0] sb  [QB+1];

    assign p   = (IN_W+2)'(u) + (IN_W+2)'(u >>> 1) - (IN_W+2)'(u >>> 4);
    logic        [63:0]     np64;                // -p >= 0, sign-extended
    assign lim  = A_W'(n) * A_W'(i0);
    assign np64 = (64)'(-p);

    // Stage 0: clamp and negate.
    always_ff @(posedge clk) begin
        if (en) begin
            if (np64 >= (64)'(lim)) a[0] <= lim;
            else                  a[0] <= A_W'(np64);
            q[0]  <= '0;
            sb[0] <= sb_in;
        end
    end

    // Stages 1..QB: one quotient bit each, most significant first.
    for (genvar s = 0; s < QB; s++) begin : g_div
        localparam int B = QB - 1 - s;
        logic [A_W-1:0] d;
        assign d = A_W'(i0) << B;
        always_ff @(posedge clk) begin
            if (en) begin
                if (a[s] >= d) begin
                    a[s+1] <= a[s] - d;
                    q[s+1] <= q[s] | QB'(1 << B);
                end else begin
                    a[s+1] <= a[s];
                    q[s+1] <= q[s];
                end
                sb[s+1] <= sb[s];
            end
        end
    end

    // Last stage: linear 2^f and the shift by N - q.
    logic [I0_W-1:0] v;
    assign v = i0 - I0_W'((a[QB] + A_W'(1)) >> 1);
    always_ff @(posedge clk) begin
        if (en) begin
            e      <= OUT_W'(v) << (n - q[QB]);
            sb_out <= sb[QB];
        end
    end
endmodule
