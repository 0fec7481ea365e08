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
        ivit_delay #(.W(A_W + 1), .LAT(i)) dly (.clk, .en(adv), .d({l0, a0[i*A_W +: A_W]}),
                                       .q({l_sk[i], a_sk[i]}));
    end
    for (genvar j = 1; j < COLS; j++) begin : g_skew_b
        ivit_delay #(.W(8), .LAT(j)) dly (.clk, .en(adv), .d(b0[j*8 +: 8]), .q(b_sk[j]));
    end

    // The PE grid.
    logic signed [A_W-1:0]   a_h [ROWS][COLS];
    logic signed [7:0]       b_v [ROWS][COLS];
    logic                    l_h [ROWS][COLS];
    logic signed [ACC_W-1:0] res [ROWS][COLS];
    for (genvar i = 0; i < ROWS; i++) begin : g_row
        for (genvar j = 0; j < COLS; j++) begin : g_col
            ivit_pe #(.A_W(A_W), .ACC_W(ACC_W)) pe (
                .clk, .rst, .en(adv),
                .a_in(j == 0 ? a_sk[i] : a_h[i][j-1]),
                .b_in(i == 0 ? b_sk[j] : b_v[i-1][j]),
                .l_in(j == 0 ? l_sk[i] : l_h[i][j-1]),
                .a_out(a_h[i][j]), .b_out(b_v[i][j]), .l_out(l_h[i][j]), .res(res[i][j])
            );
        end
    end

    // Tile parameters: taken with the last beat, moved to the drain stage with the results.
    logic [COLS*32-1:0] p_bias, p_m, o_bias, o_m;
    logic [COLS*6-1:0]  p_e, o_e;
    logic signed [ACC_W-1:0] obuf [ROWS][COLS];
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
        assign rq_acc[j*SUM_W +: SUM_W] = SUM_W'(obuf[orow][j]) + SUM_W'($signed(o_bias[j*32 +: 32]));
    end
    ivit_requant #(.LANES(COLS), .IN_W(SUM_W), .M_W(32), .OFF_W(1), .OUT_W(OUT_W), .USER_W(1)) rq (
        .clk, .rst, .s_valid(obusy), .s_ready(rq_ready), .s_acc(rq_acc), .s_m(o_m), .s_e(o_e),
        .s_off('0), .s_user((32)'(orow) == ROWS - 1),
        .m_valid, .m_ready, .m_data, .m_user(m_last)
    );
endmodule
