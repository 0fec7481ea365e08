// GEMM stage of the engine: out = sat(requant(A·B + bias, m, e)) on the N x N systolic array.
// A: rows of the activation buffer (row group g, channel a_choff + k of each of N tokens).
// B (b_mode): 0 = weight panels from DDR, K x N int8 per column tile, packed tile-major and
//   read into two on-chip halves (the next panel loads while the array works on this one);
//   1 = Kᵀ from the buffer (column tile = N tokens at channel b_choff + k);
//   2 = V from the buffer (token k, N channels from b_choff + c·N).
// Loop order: column tile c, row group g, step k; the array takes one step per cycle and a
// tile's result phase overlaps the next tile's steps. Outputs (N beats per tile) are
// saturated to sat_bits and written to the buffer at o_base + g·o_stride + o_cw + c.
module ivit_engine_gemm #(
    parameter int N      = 8,
    parameter int A_W    = 17,
    parameter int DATA_W = 512,
    parameter int SAW    = 12,
    parameter int PDEPTH = 128,   // beats per panel half
    parameter int CIW    = 8
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic                  start,
    output logic                  busy,
    input  logic [1:0]            b_mode,
    input  logic [SAW-1:0]        a_base, a_stride,
    input  logic [15:0]           a_choff,
    input  logic [SAW-1:0]        b_base, b_stride,
    input  logic [15:0]           b_choff,
    input  logic [SAW-1:0]        o_base, o_stride,
    input  logic [15:0]           o_cw,
    input  logic [15:0]           n_rg, n_ct, k_len,
    input  logic [5:0]            sat_bits,
    input  logic [63:0]           panel_addr,
    input  logic [31:0]           panel_beats,
    output logic [CIW-1:0]        c_idx,
    input  logic [N*32-1:0]       c_bias, c_m, c_e,
    output logic                  rd_cmd_valid,
    input  logic                  rd_cmd_ready,
    output logic [63:0]           rd_cmd_addr,
    output logic [31:0]           rd_cmd_beats,
    input  logic                  rd_valid,
    output logic                  rd_ready,
    input  logic [DATA_W-1:0]     rd_data,
    output logic [SAW-1:0]        ra_addr, rb_addr,
    input  logic [N*N*32-1:0]     ra_data, rb_data,
    output logic [N-1:0]          we,
    output logic [SAW-1:0]        waddr,
    output logic [N*32-1:0]       wdata
);
    localparam int LN   = $clog2(N);
    localparam int KPB  = DATA_W / (8 * N);        // K steps per panel beat
    localparam int LKPB = $clog2(KPB);
    localparam int PAW  = $clog2(PDEPTH);
    localparam int LB   = $clog2(DATA_W / 8);
    localparam int FW   = N * A_W + N * 8 + 1 + N * (32 + 32 + 6);

    // ---------------- weight panels (double-buffered) ----------------
    logic [DATA_W-1:0] pram [2 * PDEPTH];
    logic [1:0]  full;
    logic [15:0] pl;               // next panel to load
    logic        loading;
    logic [31:0] wbeat;
    logic [63:0] p_addr;
    logic        feed_on, out_on;
    logic        clear_full;
    logic [15:0] c;

    assign rd_cmd_valid = feed_on && b_mode == 2'd0 && !loading && pl < n_ct && !full[pl[0]];
    assign rd_cmd_addr  = p_addr;
    assign rd_cmd_beats = panel_beats;
    assign rd_ready     = 1'b1;

    always_ff @(posedge clk) begin
        if (rst || start) begin
            full <= 2'b00; pl <= '0; loading <= 1'b0; wbeat <= '0; p_addr <= panel_addr;
        end else begin
            if (rd_cmd_valid && rd_cmd_ready) begin
                loading <= 1'b1;
                p_addr  <= p_addr + (64'(panel_beats) << LB);
            end
            if (rd_valid && loading) begin
                pram[{pl[0], wbeat[PAW-1:0]}] <= rd_data;
                if (wbeat == panel_beats - 1) begin
                    wbeat <= '0; loading <= 1'b0; pl <= pl + 1'b1;
                    full[pl[0]] <= 1'b1;
                end else begin
                    wbeat <= wbeat + 1;
                end
            end
            if (clear_full) full[c[0]] <= 1'b0;
        end
    end

    // ---------------- feed: issue reads, one step per cycle ----------------
    logic [15:0] g, k;
    logic [SAW-1:0] a_row, b_row, v_row;
    logic [15:0] ach, bch;
    logic issue, credit, s1_valid, s1_last;
    logic [LN-1:0] s1_asel, s1_bsel;
    logic [LKPB:0] s1_psel;
    logic [1:0] s1_mode;
    logic [N*32-1:0] s1_bias, s1_m, s1_e;
    logic [DATA_W-1:0] panel_q;
    logic [2:0] fcnt;
    logic fempty, fpop;
    logic [FW-1:0] fdin, fdout;
    logic last_step, last_g;

    assign ach = a_choff + k;
    assign bch = b_choff + k;
    assign credit = (32'(fcnt) + 32'(s1_valid)) < 4;
    assign issue  = feed_on && credit && (b_mode != 2'd0 || full[c[0]]);
    assign last_step = (k == k_len - 1);
    assign last_g    = (g == n_rg - 1);
    assign clear_full = issue && b_mode == 2'd0 && last_step && last_g;
    assign c_idx = CIW'(c);

    assign ra_addr = a_row + SAW'(ach >> LN);
    always_comb begin
        if (b_mode == 2'd1) rb_addr = b_row + SAW'(bch >> LN);
        else                rb_addr = v_row + SAW'(b_choff >> LN) + SAW'(c);
    end

    always_ff @(posedge clk) begin
        panel_q <= pram[{c[0], PAW'(k >> LKPB)}];
    end

    always_ff @(posedge clk) begin
        if (rst) begin
            feed_on <= 1'b0; s1_valid <= 1'b0;
        end else if (start) begin
            feed_on <= 1'b1; c <= '0; g <= '0; k <= '0;
            a_row <= a_base; b_row <= b_base; v_row <= b_base; s1_valid <= 1'b0;
        end else begin
            s1_valid <= issue;
            if (issue) begin
                s1_asel <= ach[LN-1:0];
                s1_bsel <= b_mode == 2'd2 ? k[LN-1:0] : bch[LN-1:0];
                s1_psel <= (LKPB + 1)'(k & 16'(KPB - 1));
                s1_mode <= b_mode;
                s1_last <= last_step;
                s1_bias <= c_bias; s1_m <= c_m; s1_e <= c_e;
                if (!last_step) begin
                    k <= k + 1'b1;
                    if (k[LN-1:0] == LN'(N - 1)) v_row <= v_row + b_stride;
                end else begin
                    k <= '0; v_row <= b_base;
                    if (!last_g) begin
                        g <= g + 1'b1; a_row <= a_row + a_stride;
                    end else begin
                        g <= '0; a_row <= a_base;
                        c <= c + 1'b1; b_row <= b_row + b_stride;
                        if (c == n_ct - 1) feed_on <= 1'b0;
                    end
                end
            end
        end
    end

    // stage 1: pick the operands out of the buffer words
    logic [N*A_W-1:0] s1_a;
    logic [N*8-1:0]   s1_b;
    logic [N*6-1:0]   s1_e6;
    for (genvar r = 0; r < N; r++) begin : g_ops
        assign s1_a[r*A_W +: A_W] = ra_data[(r*N + int'(s1_asel))*32 +: A_W];
        assign s1_e6[r*6 +: 6] = s1_e[r*32 +: 6];
        always_comb begin
            case (s1_mode)
                2'd1: s1_b[r*8 +: 8] = rb_data[(r*N + int'(s1_bsel))*32 +: 8];
                2'd2: s1_b[r*8 +: 8] = rb_data[(int'(s1_bsel)*N + r)*32 +: 8];
                default: s1_b[r*8 +: 8] = panel_q[(int'(s1_psel)*N + r)*8 +: 8];
            endcase
        end
    end
    assign fdin = {s1_a, s1_b, s1_last, s1_bias, s1_m, s1_e6};

    logic sys_ready, sys_valid, m_valid, m_last;
    logic [N*A_W-1:0] f_a;
    logic [N*8-1:0]   f_b;
    logic             f_last;
    logic [N*32-1:0]  f_bias, f_m;
    logic [N*6-1:0]   f_e;
    logic [N*32-1:0]  m_data, m_sat;
    assign {f_a, f_b, f_last, f_bias, f_m, f_e} = fdout;
    assign sys_valid = !fempty;
    assign fpop = sys_valid && sys_ready;

    ivit_engine_fifo #(.W(FW), .DEPTH(4)) fifo (
        .clk, .rst(rst || start), .push(s1_valid), .din(fdin), .pop(fpop), .dout(fdout),
        .empty(fempty), .count(fcnt)
    );

    ivit_systolic #(.A_W(A_W), .ROWS(N), .COLS(N), .OUT_W(32)) array (
        .clk, .rst(rst || start), .s_valid(sys_valid), .s_ready(sys_ready), .s_a(f_a), .s_b(f_b),
        .s_last(f_last), .s_bias(f_bias), .s_m(f_m), .s_e(f_e),
        .m_valid, .m_ready(1'b1), .m_data, .m_last
    );

    ivit_engine_sat #(.LANES(N)) sat (.bits(sat_bits), .d(m_data), .q(m_sat));

    // ---------------- output: N beats per tile into the buffer ----------------
    logic [15:0] oc, og;
    logic [LN-1:0] orow;
    logic [SAW-1:0] o_row;
    assign we    = m_valid ? N'(1) << orow : '0;
    assign waddr = o_row + SAW'(o_cw) + SAW'(oc);
    assign wdata = m_sat;
    assign busy  = feed_on || out_on;

    always_ff @(posedge clk) begin
        if (rst) begin
            out_on <= 1'b0;
        end else if (start) begin
            out_on <= 1'b1; oc <= '0; og <= '0; orow <= '0; o_row <= o_base;
        end else if (m_valid) begin
            orow <= orow + 1'b1;
            if (orow == LN'(N - 1)) begin
                if (og == n_rg - 1) begin
                    og <= '0; o_row <= o_base; oc <= oc + 1'b1;
                    if (oc == n_ct - 1) out_on <= 1'b0;
                end else begin
                    og <= og + 1'b1; o_row <= o_row + o_stride;
                end
            end
        end
    end

    logic unused;
    assign unused = ^{m_last, s1_e, o_cw[15:SAW]};
endmodule
