// ShiftGELU stream unit, symmetric form (spec: shift.shift_gelu, form="symmetric"):
//   z = 1.6875 * (x << k) by shifts;  t = ShiftExp(-|z|) (the paper's ShiftExp);  E0 = I0 << N;
//   sigma = (num << 15) // (E0 + t), num = E0 if z >= 0 else t;  out = x * sigma.
// The output has real scale S * 2^-15; a requant stage follows in the datapath.
// Latency 1 + (QB + 3) + 1 + 16 + 1 = QB + 22, II = 1 per lane.
module ivit_shiftgelu #(
    parameter int LANES = 4,
    parameter int IN_W  = 8,
    parameter int K_W   = 4,
    parameter int I0_W  = 12,
    parameter int QB    = 5,
    parameter int OUT_W = IN_W + 17
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic [K_W-1:0]         cfg_k,
    input  logic [I0_W-1:0]        cfg_i0,
    input  logic [QB-1:0]          cfg_n,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [LANES*IN_W-1:0]  s_data,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*OUT_W-1:0] m_data
);
    localparam int LAT = QB + 22;
    localparam int Z_W = IN_W + (1 << K_W) + 2;          // x << k times 1.6875
    localparam int E_W = I0_W + (1 << QB);               // ShiftExp output, <= I0 << N
    localparam int SIG_W = 16;                           // sigma < 2^15 (+1 bit margin)
    logic en;

    ivit_pipe_ctrl #(.LAT(LAT)) ctrl (
        .clk, .rst, .s_valid, .s_ready, .en, .m_valid, .m_ready
    );

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        logic signed [IN_W-1:0] x;
        logic signed [Z_W-1:0]  xs, z, u;
        logic        [IN_W-1:0] sb0, sb2, sb3;           // x
        logic        [IN_W:0]   sb1;                     // {z >= 0, x}
        logic        [E_W-1:0]  t, e0, num, den;
        logic        [SIG_W-1:0] sigma;

        assign x  = s_data[l*IN_W +: IN_W];
        assign xs = Z_W'(x) <<< cfg_k;
        assign e0 = E_W'(cfg_i0) << cfg_n;

        // Stage 0: z = xs + xs>>1 + xs>>3 + xs>>4, u = -|z|.
        always_ff @(posedge clk) begin
            if (en) begin
                z   <= xs + (xs >>> 1) + (xs >>> 3) + (xs >>> 4);
                sb0 <= x;
            end
        end
        assign u = z[Z_W-1] ? z : -z;

        ivit_shiftexp_lane #(.IN_W(Z_W), .I0_W(I0_W), .QB(QB), .OUT_W(E_W), .SB_W(IN_W+1),
                             .EXP_FORM(0)) sexp (
            .clk, .en, .i0(cfg_i0), .n(cfg_n), .u, .sb_in({~z[Z_W-1], sb0}),
            .e(t), .sb_out(sb1)
        );

        // Numerator and denominator of the sigmoid.
        always_ff @(posedge clk) begin
            if (en) begin
                num <= sb1[IN_W] ? e0 : t;
                den <= e0 + t;
                sb2 <= sb1[IN_W-1:0];
            end
        end

        ivit_divpipe_lane #(.NUM_W(E_W + 15), .DEN_W(E_W), .Q_W(SIG_W), .SB_W(IN_W)) div (
            .clk, .en, .num((E_W+15)'(num) << 15), .den, .sb_in(sb2), .q(sigma), .sb_out(sb3)
        );

        logic signed [OUT_W-1:0] xa, sa;
        assign xa = OUT_W'($signed(sb3));
        assign sa = OUT_W'($signed({1'b0, sigma}));
        always_ff @(posedge clk) begin
            if (en) m_data[l*OUT_W +: OUT_W] <= xa * sa;
        end
    end
endmodule
