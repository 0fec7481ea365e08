// Vector stage of the engine: streams rows of the activation buffer (N lanes per word) through
// one of the nonlinear units and back into the buffer.
//   op 0 I-LayerNorm (int16 rows) -> per-channel requant (m, e, 64-bit offset) -> sat
//   op 1 Shiftmax (int8 rows) -> unsigned probabilities
//   op 2 GELU (int8; GELU_FORM picks the unit) -> requant (m, e per channel; offset 0) -> sat
//   op 3 residual add: branch (port A, int32, m_a/e_a per channel) + stream (port B, int16)
// Row t, word w of a tensor lives in bank t mod N at base + (t / N)·stride + w.
module ivit_engine_vec #(
    parameter int N         = 8,
    parameter int SAW       = 12,
    parameter int CIW       = 8,
    parameter int MAX_BEATS = 32,
    parameter int EXP_FORM  = 1,     // Shiftmax's ShiftExp: 1 corrected, 0 the paper's
    parameter int GELU_FORM = 1,     // 1 "shift" (ivit_gelu_shift), 0 "symmetric" (ivit_shiftgelu)
    parameter int LEN_W     = $clog2(MAX_BEATS * N + 1)
) (
    input  logic              clk,
    input  logic              rst,
    input  logic              start,
    output logic              busy,
    input  logic [1:0]        op,
    input  logic [SAW-1:0]    a_base, a_stride,
    input  logic [SAW-1:0]    b_base, b_stride,
    input  logic [SAW-1:0]    o_base, o_stride,
    input  logic [15:0]       rows, wpr,
    input  logic [LEN_W-1:0]  row_len,
    input  logic [5:0]        sat_bits,
    input  logic [3:0]        cfg_k,
    input  logic [11:0]       cfg_i0,
    input  logic [4:0]        cfg_n,
    input  logic [12:0]       cfg_r,
    input  logic [31:0]       cfg_m_b,
    input  logic [5:0]        cfg_e_b,
    output logic [CIW-1:0]    c_idx,
    input  logic [N*32-1:0]   c_lo, c_m, c_e, c_hi,
    output logic [SAW-1:0]    ra_addr, rb_addr,
    input  logic [N*N*32-1:0] ra_data, rb_data,
    output logic [N-1:0]      we,
    output logic [SAW-1:0]    waddr,
    output logic [N*32-1:0]   wdata
);
    localparam int LN = $clog2(N);
    localparam int FW = 2 * N * 32 + 16;
    localparam logic [1:0] OP_LN = 2'd0, OP_SMAX = 2'd1, OP_GELU = 2'd2, OP_RES = 2'd3;

    // ---------------- read side ----------------
    logic feed_on, out_on, issue, credit, s1_valid;
    logic [15:0] t, w, s1_w;
    logic [LN-1:0] s1_bank;
    logic [SAW-1:0] a_row, b_row;
    logic [2:0] fcnt;
    logic fempty, fpop, u_ready;
    logic [FW-1:0] fdin, fdout;
    logic [N*32-1:0] s1_a, s1_b, f_a, f_b;
    logic [15:0] f_w;

    assign credit  = (32'(fcnt) + 32'(s1_valid)) < 4;
    assign issue   = feed_on && credit;
    assign ra_addr = a_row + SAW'(w);
    assign rb_addr = b_row + SAW'(w);

    always_ff @(posedge clk) begin
        if (rst) begin
            feed_on <= 1'b0; s1_valid <= 1'b0;
        end else if (start) begin
            feed_on <= 1'b1; t <= '0; w <= '0; a_row <= a_base; b_row <= b_base;
            s1_valid <= 1'b0;
        end else begin
            s1_valid <= issue;
            if (issue) begin
                s1_bank <= t[LN-1:0];
                s1_w    <= w;
                if (w != wpr - 1) begin
                    w <= w + 1'b1;
                end else begin
                    w <= '0;
                    t <= t + 1'b1;
                    if (t[LN-1:0] == LN'(N - 1)) begin
                        a_row <= a_row + a_stride; b_row <= b_row + b_stride;
                    end
                    if (t == rows - 1) feed_on <= 1'b0;
                end
            end
        end
    end

    assign s1_a = ra_data[int'(s1_bank)*N*32 +: N*32];
    assign s1_b = rb_data[int'(s1_bank)*N*32 +: N*32];
    assign fdin = {s1_a, s1_b, s1_w};
    assign {f_a, f_b, f_w} = fdout;
    assign fpop = !fempty && u_ready;

    ivit_engine_fifo #(.W(FW), .DEPTH(4)) fifo (
        .clk, .rst(rst || start), .push(s1_valid), .din(fdin), .pop(fpop), .dout(fdout),
        .empty(fempty), .count(fcnt)
    );

    // ---------------- units ----------------
    logic [N*16-1:0] ln_in, res_b;
    logic [N*8-1:0]  sm_in, ge_in;
    logic [N*6-1:0]  e6, res_e;
    for (genvar l = 0; l < N; l++) begin : g_in
        assign ln_in[l*16 +: 16] = f_a[l*32 +: 16];
        assign sm_in[l*8 +: 8]   = f_a[l*32 +: 8];
        assign ge_in[l*8 +: 8]   = f_a[l*32 +: 8];
        assign res_b[l*16 +: 16] = f_b[l*32 +: 16];
        assign e6[l*6 +: 6]      = c_e[l*32 +: 6];
    end
    assign res_e = e6;

    logic ln_s_ready, sm_s_ready, ge_s_ready, rs_s_ready;
    logic ln_m_valid, sm_m_valid, ge_m_valid, rs_m_valid, ln_m_last, sm_m_last;
    logic [N*18-1:0] ln_out;
    logic [N*16-1:0] sm_out, rs_out;
    logic [N*25-1:0] ge_out;
    logic rq_s_ready, rq_s_valid, rq_m_valid;
    logic [N*32-1:0] rq_out, rq_sat;
    logic rq_user;

    always_comb begin
        case (op)
            OP_LN:   u_ready = ln_s_ready;
            OP_SMAX: u_ready = sm_s_ready;
            OP_GELU: u_ready = ge_s_ready;
            default: u_ready = rs_s_ready;
        endcase
    end

    ivit_ilayernorm #(.LANES(N), .IN_W(16), .MAX_BEATS(MAX_BEATS)) u_ln (
        .clk, .rst(rst || start), .cfg_len(row_len), .s_valid(!fempty && op == OP_LN),
        .s_ready(ln_s_ready), .s_data(ln_in), .m_valid(ln_m_valid),
        .m_ready(op == OP_LN && rq_s_ready), .m_data(ln_out), .m_last(ln_m_last)
    );
    ivit_shiftmax #(.LANES(N), .IN_W(8), .MAX_BEATS(MAX_BEATS), .OUT_W(16), .K_W(4),
                    .I0_W(12), .QB(5), .EXP_FORM(EXP_FORM)) u_sm (
        .clk, .rst(rst || start), .cfg_k, .cfg_i0, .cfg_n, .cfg_len(row_len),
        .s_valid(!fempty && op == OP_SMAX), .s_ready(sm_s_ready), .s_data(sm_in),
        .m_valid(sm_m_valid), .m_ready(1'b1), .m_data(sm_out), .m_last(sm_m_last)
    );
    if (GELU_FORM == 1) begin : g_gelu_shift
        ivit_gelu_shift #(.LANES(N), .IN_W(8), .K_W(4), .R_W(13), .OUT_W(25)) u_ge (
            .clk, .rst(rst || start), .cfg_k, .cfg_r,
            .s_valid(!fempty && op == OP_GELU), .s_ready(ge_s_ready), .s_data(ge_in),
            .m_valid(ge_m_valid), .m_ready(op == OP_GELU && rq_s_ready), .m_data(ge_out)
        );
    end else begin : g_gelu_sym
        ivit_shiftgelu #(.LANES(N), .IN_W(8), .K_W(4), .I0_W(12), .QB(5), .OUT_W(25)) u_ge (
            .clk, .rst(rst || start), .cfg_k, .cfg_i0, .cfg_n,
            .s_valid(!fempty && op == OP_GELU), .s_ready(ge_s_ready), .s_data(ge_in),
            .m_valid(ge_m_valid), .m_ready(op == OP_GELU && rq_s_ready), .m_data(ge_out)
        );
    end
    ivit_residual_add #(.LANES(N), .A_W(32), .B_W(16), .OUT_W(16)) u_rs (
        .clk, .rst(rst || start), .cfg_m_b, .cfg_e_b,
        .s_valid(!fempty && op == OP_RES), .s_ready(rs_s_ready), .s_a(f_a), .s_m_a(c_m),
        .s_e_a(res_e), .s_b(res_b), .m_valid(rs_m_valid), .m_ready(1'b1), .m_data(rs_out)
    );

    // requant after LayerNorm / GELU; constants of the word entering it
    logic [15:0] rq_w;
    logic [N*25-1:0] rq_in;
    logic [N*64-1:0] rq_off;
    for (genvar l = 0; l < N; l++) begin : g_rq
        assign rq_in[l*25 +: 25] = op == OP_LN ? {{7{ln_out[l*18 + 17]}}, ln_out[l*18 +: 18]}
                                               : ge_out[l*25 +: 25];
        assign rq_off[l*64 +: 64] = op == OP_LN ? {c_hi[l*32 +: 32], c_lo[l*32 +: 32]} : 64'd0;
    end
    assign rq_s_valid = op == OP_LN ? ln_m_valid : (op == OP_GELU && ge_m_valid);
    assign c_idx = CIW'(op == OP_RES ? f_w : rq_w);

    always_ff @(posedge clk) begin
        if (rst || start) rq_w <= '0;
        else if (rq_s_valid && rq_s_ready) rq_w <= (rq_w == wpr - 1) ? '0 : rq_w + 1'b1;
    end

    ivit_requant #(.LANES(N), .IN_W(25), .M_W(32), .OFF_W(64), .OUT_W(32), .USER_W(1)) u_rq (
        .clk, .rst(rst || start), .s_valid(rq_s_valid), .s_ready(rq_s_ready), .s_acc(rq_in),
        .s_m(c_m), .s_e(e6), .s_off(rq_off), .s_user(1'b0), .m_valid(rq_m_valid),
        .m_ready(1'b1), .m_data(rq_out), .m_user(rq_user)
    );
    ivit_engine_sat #(.LANES(N)) sat (.bits(sat_bits), .d(rq_out), .q(rq_sat));

    // ---------------- write side ----------------
    logic o_valid;
    logic [N*32-1:0] o_data;
    logic [15:0] ot, ow;
    logic [SAW-1:0] o_row;
    always_comb begin
        case (op)
            OP_SMAX: begin
                o_valid = sm_m_valid;
                for (int l = 0; l < N; l++) o_data[l*32 +: 32] = {16'd0, sm_out[l*16 +: 16]};
            end
            OP_RES: begin
                o_valid = rs_m_valid;
                for (int l = 0; l < N; l++)
                    o_data[l*32 +: 32] = {{16{rs_out[l*16 + 15]}}, rs_out[l*16 +: 16]};
            end
            default: begin
                o_valid = rq_m_valid;
                o_data  = rq_sat;
            end
        endcase
    end
    assign we    = (o_valid && out_on) ? N'(1) << ot[LN-1:0] : '0;
    assign waddr = o_row + SAW'(ow);
    assign wdata = o_data;
    assign busy  = feed_on || out_on;

    always_ff @(posedge clk) begin
        if (rst) begin
            out_on <= 1'b0;
        end else if (start) begin
            out_on <= 1'b1; ot <= '0; ow <= '0; o_row <= o_base;
        end else if (o_valid && out_on) begin
            if (ow != wpr - 1) begin
                ow <= ow + 1'b1;
            end else begin
                ow <= '0;
                ot <= ot + 1'b1;
                if (ot[LN-1:0] == LN'(N - 1)) o_row <= o_row + o_stride;
                if (ot == rows - 1) out_on <= 1'b0;
            end
        end
    end

    logic unused;
    assign unused = ^{ln_m_last, sm_m_last, f_w[15:CIW], c_e, f_b, rq_user, cfg_r, cfg_i0,
                      cfg_n};
endmodule
