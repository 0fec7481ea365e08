// Streaming Shiftmax over rows of cfg_len elements, LANES per beat (spec: shift.shiftmax,
// exp_form "corrected" with EXP_FORM = 1, the default, or "paper" with EXP_FORM = 0):
//   LOAD  store the row, track its max;  EXP  e = ShiftExp((x - max) << k), sum e;
//   DIV   one division per row f = 2^M // sum (M = bitlen(I0 << N) + 30);
//   OUT   P = (e*f + 2^(M-Q-1)) >> (M-Q), Q = OUT_W - 1, one beat per cycle.
// Lanes past cfg_len in the last beat are ignored on input and output 0.
// Cycles per row (no stalls): 3*beats + QB + 41, beats = ceil(len / LANES).
module ivit_shiftmax #(
    parameter int LANES     = 4,
    parameter int IN_W      = 8,
    parameter int MAX_BEATS = 64,
    parameter int OUT_W     = 16,
    parameter int K_W       = 4,
    parameter int I0_W      = 12,
    parameter int QB        = 5,
    parameter int EXP_FORM  = 1,                  // 1: corrected ShiftExp, 0: the paper's
    parameter int LEN_W     = $clog2(MAX_BEATS * LANES + 1)
) (
    input  logic                   clk,
    input  logic                   rst,
    input  logic [K_W-1:0]         cfg_k,
    input  logic [I0_W-1:0]        cfg_i0,
    input  logic [QB-1:0]          cfg_n,
    input  logic [LEN_W-1:0]       cfg_len,
    input  logic                   s_valid,
    output logic                   s_ready,
    input  logic [LANES*IN_W-1:0]  s_data,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*OUT_W-1:0] m_data,
    output logic                   m_last
);
    localparam int B_W = $clog2(MAX_BEATS + 1);
    localparam int A_W = $clog2(MAX_BEATS);      // buffer address (MAX_BEATS >= 2)
    localparam int U_W = IN_W + 1 + (1 << K_W);
    localparam int E_W = I0_W + (1 << QB);       // e < 2^(I0_W + 1 + N), N < 2^QB
    localparam int SX_LAT = QB + 3;               // ivit_shiftexp_lane
    typedef enum logic [1:0] {S_LOAD, S_EXP, S_DIV, S_OUT} state_t;
    state_t state;

    logic [B_W-1:0] beats;
    assign beats = B_W'(((32)'(cfg_len) + LANES - 1) / LANES);

    // M = bitlen(I0) + N + 30.
    logic [6:0] mbits;
    always_comb begin
        mbits = (7)'(cfg_n) + 7'd30;
        for (int b = 0; b < I0_W; b++) if (cfg_i0[b]) mbits = (7)'(b + 1) + (7)'(cfg_n) + 7'd30;
    end

    function automatic logic lane_ok(input logic [B_W-1:0] beat, input int lane,
                                     input logic [LEN_W-1:0] len);
        lane_ok = (32)'(beat) * LANES + (32)'(lane) < (32)'(len);
    endfunction

    logic [LANES*IN_W-1:0] xbuf [MAX_BEATS];
    logic [LANES*E_W-1:0]  ebuf [MAX_BEATS];

    // ---- LOAD: store the row and its max.
    logic [B_W-1:0]         wptr;
    logic signed [IN_W-1:0] rowmax, beatmax;
    always_comb begin
        beatmax = rowmax;
        for (int l = 0; l < LANES; l++) begin
            if (lane_ok(wptr, l, cfg_len) && $signed(s_data[l*IN_W +: IN_W]) > beatmax)
                beatmax = $signed(s_data[l*IN_W +: IN_W]);
        end
    end
    assign s_ready = state == S_LOAD;

    // ---- EXP: read x, subtract the max, ShiftExp, sum.
    logic [B_W-1:0]        rptr, eptr, bx;
    logic                  vx, vu;
    logic [B_W-1:0]        bu;
    logic [LANES*IN_W-1:0] xr;
    logic [LANES*E_W-1:0]  ev;
    logic [U_W*LANES-1:0]  u;
    logic                  ve;
    logic [B_W-1:0]        be;
    logic [63:0]           sum, beatsum;

    for (genvar l = 0; l < LANES; l++) begin : g_exp
        logic signed [U_W-1:0] d;
        logic                  unused_sb;
        assign d = U_W'($signed(xr[l*IN_W +: IN_W])) - U_W'(rowmax);
        always_ff @(posedge clk) u[l*U_W +: U_W] <= d <<< cfg_k;
        ivit_shiftexp_lane #(.IN_W(U_W), .I0_W(I0_W), .QB(QB), .OUT_W(E_W), .SB_W(1),
                             .EXP_FORM(EXP_FORM)) sexp (
            .clk, .en(1'b1), .i0(cfg_i0), .n(cfg_n), .u(u[l*U_W +: U_W]), .sb_in(1'b0),
            .e(ev[l*E_W +: E_W]), .sb_out(unused_sb)
        );
    end
    ivit_delay #(.W(1 + B_W), .LAT(SX_LAT)) exp_tag (
        .clk, .en(1'b1), .d({vu, bu}), .q({ve, be})
    );
    always_comb begin
        beatsum = sum;
        for (int l = 0; l < LANES; l++)
            if (lane_ok(be, l, cfg_len)) beatsum = beatsum + (64)'(ev[l*E_W +: E_W]);
    end

    // ---- DIV: one division per row.
    logic        div_start, unused_div_busy, div_done;
    logic [31:0] div_q, factor;
    logic [63:0] unused_rem;
    ivit_divseq #(.NUM_W(64), .DEN_W(64), .Q_MAX(32), .QB_W(6)) div (
        .clk, .rst, .start(div_start), .num(64'd1 << mbits), .den(sum), .qbits(6'd32),
        .busy(unused_div_busy), .done(div_done), .q(div_q), .rem(unused_rem)
    );

    // ---- OUT: read e, scale, round; a 2-stage pipeline with backpressure.
    logic [B_W-1:0]       optr, ob1;
    logic                 o_en, o_valid_in, o_s_ready;
    logic [LANES*E_W-1:0] er;
    logic [6:0]           oshift;
    assign o_valid_in = state == S_OUT && optr < beats;
    assign oshift     = mbits - (7)'(OUT_W - 1);
    ivit_pipe_ctrl #(.LAT(2)) octrl (
        .clk, .rst, .s_valid(o_valid_in), .s_ready(o_s_ready), .en(o_en), .m_valid, .m_ready
    );

    always_ff @(posedge clk) begin
        if (o_en) begin
            er  <= ebuf[optr[A_W-1:0]];
            ob1 <= optr;
            for (int l = 0; l < LANES; l++) begin
                if (lane_ok(ob1, l, cfg_len))
                    m_data[l*OUT_W +: OUT_W] <= OUT_W'(((64)'(er[l*E_W +: E_W]) * (64)'(factor)
                                                  + (64'd1 << (oshift - 7'd1))) >> oshift);
                else
                    m_data[l*OUT_W +: OUT_W] <= '0;
            end
            m_last <= ob1 == beats - B_W'(1);
        end
    end

    // ---- Control.
    always_ff @(posedge clk) begin
        div_start <= 1'b0;
        vu        <= vx;
        bu        <= bx;
        if (rst) begin
            state <= S_LOAD;
            wptr  <= '0;
            vx    <= 1'b0;
            vu    <= 1'b0;
            rowmax <= {1'b1, {(IN_W-1){1'b0}}};
        end else begin
            vx <= 1'b0;
            case (state)
                S_LOAD: if (s_valid) begin
                    xbuf[wptr[A_W-1:0]] <= s_data;
                    rowmax     <= beatmax;
                    wptr       <= wptr + B_W'(1);
                    if (wptr == beats - B_W'(1)) begin
                        state <= S_EXP;
                        rptr  <= '0;
                        eptr  <= '0;
                        sum   <= '0;
                    end
                end
                S_EXP: begin
                    if (rptr < beats) begin
                        xr   <= xbuf[rptr[A_W-1:0]];
                        vx   <= 1'b1;
                        bx   <= rptr;
                        rptr <= rptr + B_W'(1);
                    end
                    if (ve) begin
                        ebuf[be[A_W-1:0]] <= ev;
                        sum      <= beatsum;
                        eptr     <= eptr + B_W'(1);
                        if (eptr == beats - B_W'(1)) begin
                            state     <= S_DIV;
                            div_start <= 1'b1;
                        end
                    end
                end
                S_DIV: if (div_done) begin
                    factor <= div_q;
                    optr   <= '0;
                    state  <= S_OUT;
                end
                S_OUT: begin
                    if (o_valid_in && o_s_ready) optr <= optr + B_W'(1);
                    if (m_valid && m_ready && m_last) begin
                        state  <= S_LOAD;
                        wptr   <= '0;
                        rowmax <= {1'b1, {(IN_W-1){1'b0}}};
                    end
                end
                default: state <= S_LOAD;
            endcase
        end
    end
endmodule
