/* This file is part of Büro 365 Offers.  See the README for licence terms.
 *
 * The signature step of the offer page: draw on the canvas (mouse, finger,
 * pen) with Signature Pad and put the drawing as a PNG data URL into the
 * form's "signature" field; and the totals of the services the customer
 * chooses, at once as they tick them (the server computes them again when
 * they sign).  Everything else on the page works without JavaScript. */
(function () {
    'use strict';
    var choices = document.getElementById('choices');
    if (!choices) {
        return;
    }
    var digits = parseInt(choices.getAttribute('data-digits'), 10) || 2;
    var factor = Math.pow(10, digits);
    var format = new Intl.NumberFormat(document.documentElement.lang || 'en', {
        style: 'currency',
        currency: choices.getAttribute('data-currency') || 'EUR'
    });

    // Half to even, as the server (and Tryton's sales and invoices) round.
    function round(value) {
        var scaled = value * factor;
        var floor = Math.floor(scaled);
        var rest = scaled - floor;
        if (Math.abs(rest - 0.5) < 1e-7) {
            return (floor % 2 === 0 ? floor : floor + 1) / factor;
        }
        return Math.round(scaled) / factor;
    }

    function update() {
        var net = 0;
        var taxes = {};
        var inputs = choices.querySelectorAll('input[data-net]');
        Array.prototype.forEach.call(inputs, function (input) {
            if (input.type !== 'hidden' && !input.checked) {
                return;
            }
            net += parseFloat(input.getAttribute('data-net'));
            var lineTaxes = JSON.parse(input.getAttribute('data-taxes'));
            Object.keys(lineTaxes).forEach(function (key) {
                taxes[key] = (taxes[key] || 0) + parseFloat(lineTaxes[key]);
            });
        });
        // VAT per tax on the sum of the net amounts, as the offer has it.
        var tax = Object.keys(taxes).reduce(function (sum, key) {
            return sum + round(taxes[key]);
        }, 0);
        net = round(net);
        document.getElementById('choice-net').textContent = format.format(net);
        document.getElementById('choice-tax').textContent = format.format(tax);
        document.getElementById('choice-total').textContent = format.format(
            round(net + tax));
    }
    choices.addEventListener('change', update);
    update();
}());
(function () {
    'use strict';
    var form = document.getElementById('accept-form');
    var canvas = document.getElementById('signature-canvas');
    if (!form || !canvas || typeof SignaturePad === 'undefined') {
        return;
    }
    var field = form.querySelector('input[name="signature"]');
    var clear = document.getElementById('signature-clear');
    var message = document.getElementById('signature-message');
    var pad = new SignaturePad(canvas, {
        minWidth: 0.8,
        maxWidth: 2.8,
        penColor: '#111111'
    });

    // The canvas has the pixels of its box on screen, sharp on any display.
    function resize() {
        var ratio = Math.max(window.devicePixelRatio || 1, 1);
        var strokes = pad.toData();
        canvas.width = canvas.offsetWidth * ratio;
        canvas.height = canvas.offsetHeight * ratio;
        canvas.getContext('2d').scale(ratio, ratio);
        pad.clear();
        pad.fromData(strokes);
    }
    window.addEventListener('resize', resize);
    resize();

    document.documentElement.className += ' js';
    clear.hidden = false;
    clear.addEventListener('click', function () {
        pad.clear();
        field.value = '';
    });
    pad.addEventListener('beginStroke', function () {
        message.hidden = true;
    });
    form.addEventListener('submit', function (event) {
        if (pad.isEmpty()) {
            event.preventDefault();
            message.hidden = false;
            canvas.focus();
            return;
        }
        field.value = pad.toDataURL('image/png');
    });
}());
