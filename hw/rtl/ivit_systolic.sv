// int8 output-stationary systolic array, ROWS x COLS, with a dyadic requant stage on its output.
// Input beat k of a tile: column k of A (s_a, ROWS values) and row k of B (s_b, COLS values);
// s_last marks the tile's final step and carries the tile's per-column bias, m, e.
// Output: ROWS beats per tile, beat i = sat_OUT_W(requant(sum_k A[i,k] B[k,:] + bias, m, e)),
// m_last on the last row. One tile is in its result phase at a time (res -> obuf), so
// tiles stream back to back when K >= ROWS + COLS; see ivit_hls.rtl.cycles for the model.
module ivit_systolic #(
    parameter int A_W   = 8,     // a-operand width (17: unsigned 16-bit probabilities)
    parameter int ROWS  = 4,
    parameter int COLS  = 4,
    parameter int OUT_W = 8,
    parameter int ACC_W = 32
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [ROWS*A_W-1:0]    s_a,
    input  logic [COLS*8-1:0]      s_b,
    input  logic                   s_last,
    input  logic [COLS*32-1:0]     s_bias,
    input  logic [COLS*32-1:0]     s_m,
    input  logic [COLS*6-1:0]      s_e,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [COLS*OUT_W-1:0]  m_data,
    output logic                   m_last
);
    localparam int SUM_W = ACC_W + 1;
    logic adv, done, obusy, pending, take;

    assign take    = s_valid && s_ready;
    assign adv     = !(done && obusy);
    assign s_ready = adv && !(pending && s_last);

    // Inputs enter as zeros (bubbles) when no beat is taken, so the array never waits.
    logic [ROWS*A_W-1:0] a0;
    logic [COLS*8-1:0] b0;
    logic              l0;
    assign a0 = take ? s_a : '0;
    assign b0 = take ? s_b : '0;
    assign l0 = take && s_last;

    ivit_delay #(.W(1), .LAT(ROWS + COLS - 1)) done_dly (.clk, .en(adv), .d(l0), .q(done));

    // Skew: row i and column j enter i and j cycles late.
    logic signed [A_W-1:0] a_sk [ROWS];
    logic signed [7:0] b_sk [COLS];
    logic              l_sk [ROWS];
    assign a_sk[0] = a0[A_W-1:0];
    assign l_sk[0] = l0;
    assign b_sk[0] = b0[7:0];
    for (genvar i = 1; i < ROWS; i++) begin : g_skew_a
        logic [A_W:0] sk_d, sk_q;
        assign sk_d = {l0, a0[i*A_W +: A_W]};
        assign {l_sk[i], a_sk[i]} = sk_q;
        ivit_delay #(.W(A_W + 1), .LAT(i)) dly (.clk, .en(adv), .d(sk_d), .q(sk_q));
    end
    for (genvar j = 1; j < COLS; j++) begin : g_skew_b
        logic [7:0] sk_q;
        assign b_sk[j] = sk_q;
        ivit_delay #(.W(8), .LAT(j)) dly (.clk, .en(adv), .d(b0[j*8 +: 8]), .q(sk_q));
    end

    // The PE grid; PE (i, j) outputs live in flat vectors at index i*COLS + j.
    localparam int NPE = ROWS * COLS;
    // The last column's a/l and the last row's b leave the grid unused.
    /* verilator lint_off UNUSEDSIGNAL */
    logic [NPE*A_W-1:0]   a_h;
    logic [NPE*8-1:0]     b_v;
    logic [NPE-1:0]       l_h;
    /* verilator lint_on UNUSEDSIGNAL */
    logic [NPE*ACC_W-1:0] res;
    for (genvar i = 0; i < ROWS; i++) begin : g_row
        for (genvar j = 0; j < COLS; j++) begin : g_col
            localparam int P = i * COLS + j;
            logic signed [A_W-1:0] a_in, a_out;
            logic signed [7:0]     b_in, b_out;
            logic                  l_in, l_out;
            if (j == 0) begin : g_left
                assign a_in = a_sk[i];
                assign l_in = l_sk[i];
            end else begin : g_inner
                assign a_in = a_h[(P-1)*A_W +: A_W];
                assign l_in = l_h[P-1];
            end
            if (i == 0) begin : g_top
                assign b_in = b_sk[j];
            end else begin : g_below
                assign b_in = b_v[(P-COLS)*8 +: 8];
            end
            ivit_pe #(.A_W(A_W), .ACC_W(ACC_W)) pe (
                .clk, .rst, .en(adv), .a_in, .b_in, .l_in, .a_out, .b_out, .l_out,
                .res(res[P*ACC_W +: ACC_W])
            );
            assign a_h[P*A_W +: A_W] = a_out;
            assign l_h[P]            = l_out;
            assign b_v[P*8 +: 8]     = b_out;
        end
    end

    // Tile parameters: taken with the last beat, moved to the drain stage with the results.
    logic [COLS*32-1:0] p_bias, p_m, o_bias, o_m;
    logic [COLS*6-1:0]  p_e, o_e;
    logic [NPE*ACC_W-1:0] obuf;
    logic [$clog2(ROWS)-1:0] orow;              // ROWS >= 2
    logic rq_ready;

    always_ff @(posedge clk) begin
        if (rst) begin
            pending <= 1'b0;
            obusy   <= 1'b0;
            orow    <= '0;
        end else begin
            if (take && s_last) begin
                pending <= 1'b1;
                p_bias  <= s_bias;
                p_m     <= s_m;
                p_e     <= s_e;
            end
            if (done && !obusy) begin
                obuf    <= res;
                o_bias  <= p_bias;
                o_m     <= p_m;
                o_e     <= p_e;
                obusy   <= 1'b1;
                pending <= 1'b0;
            end
            if (obusy && rq_ready) begin
                orow <= orow + 1'b1;
                if ((32)'(orow) == ROWS - 1) begin
                    obusy <= 1'b0;
                    orow  <= '0;
                end
            end
        end
    end

    // Drain one row per beat through the requant stage.
    logic [COLS*SUM_W-1:0] rq_acc;
    for (genvar j = 0; j < COLS; j++) begin : g_drain
        logic signed [ACC_W-1:0] r;
        assign r = obuf[((32)'(orow) * COLS + j) * ACC_W +: ACC_W];
        assign rq_acc[j*SUM_W +: SUM_W] = SUM_W'(r) + SUM_W'($signed(o_bias[j*32 +: 32]));
    end
    logic last_row;
    assign last_row = (32)'(orow) == ROWS - 1;
    ivit_requant #(.LANES(COLS), .IN_W(SUM_W), .M_W(32), .OFF_W(1), .OUT_W(OUT_W), .USER_W(1)) rq (
        .clk, .rst, .s_valid(obusy), .s_ready(rq_ready), .s_acc(rq_acc), .s_m(o_m), .s_e(o_e),
        .s_off({COLS{1'b0}}), .s_user(last_row),
        .m_valid, .m_ready, .m_data, .m_user(m_last)
    );
endmodule
